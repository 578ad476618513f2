import type { Logger } from 'pino';
import { modeOf, nonActiveRules, usesPatientFraction } from '../cds/modes';
import type { Knowledge } from '../clinical';
import { ConfigError, loadKnowledgeSync } from '../config/knowledge-file';
import type { AppConfig } from './config';
import type { Metrics } from './metrics';

/** The shipped knowledge with the site file merged over it, checked, plus what the service itself needs of it. */
export function loadSiteKnowledge(config: Pick<AppConfig, 'siteKnowledgeFile' | 'pilotKey'>): Knowledge {
  const k = loadKnowledgeSync(config.siteKnowledgeFile);
  if (usesPatientFraction(k) && !config.pilotKey) {
    throw new ConfigError(
      "a rule's mode.pilot.patientFraction needs CROSSTALK_PILOT_KEY (at least 32 characters, e.g. `openssl rand -hex 32`) to draw its patients",
    );
  }
  return k;
}

/**
 * The knowledge the service runs now. A call takes `current` once and uses that value to its end; a reload builds
 * and checks the new knowledge completely before one assignment replaces it, so a call sees the old knowledge or the
 * new one, never a mix. A file that does not load leaves the running knowledge in place.
 */
export class LiveKnowledge {
  private k: Knowledge;

  constructor(
    initial: Knowledge,
    private readonly config: Pick<AppConfig, 'siteKnowledgeFile' | 'pilotKey'>,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.k = initial;
    this.announce();
  }

  get current(): Knowledge {
    return this.k;
  }

  /** Re-reads the site file (and the shipped files under it); true when the new knowledge is now running. */
  reload(): boolean {
    let next: Knowledge;
    try {
      next = loadSiteKnowledge(this.config);
    } catch (e) {
      this.metrics.knowledgeReloads.inc({ result: 'rejected' });
      // The message names the file and what is wrong with it; the site file holds configuration, never patient data.
      const why =
        e instanceof ConfigError
          ? e.message
          : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
      this.log.error(
        { event: 'knowledge-reload', result: 'rejected', why },
        'site knowledge NOT reloaded: the running configuration is kept',
      );
      return false;
    }
    this.k = next;
    this.metrics.knowledgeReloads.inc({ result: 'applied' });
    this.log.info({ event: 'knowledge-reload', result: 'applied', version: next.version }, 'site knowledge reloaded');
    this.announce();
    return true;
  }

  /** What an operator must not miss at start and after each reload: provisional thresholds, and rules not active. */
  private announce(): void {
    const k = this.k;
    const ccr = k.rules['low-ccr'];
    if (ccr.enabled && ccr.threshold.provisional) {
      this.log.warn(
        { threshold: ccr.threshold.below },
        'low-CCR threshold is PROVISIONAL (not validated): set a site threshold, see docs/hospital-it/clinical-configuration.md',
      );
    }
    const quiet = nonActiveRules(k);
    if (Object.keys(quiet).length) {
      this.log.warn(
        { event: 'rule-modes', rules: quiet },
        `rules NOT active (cards withheld for some or all calls): ${Object.keys(quiet).join(', ')}`,
      );
    } else this.log.info({ event: 'rule-modes' }, 'every rule is active');
    this.metrics.ruleMode.reset();
    for (const id of Object.keys(k.rules)) {
      const m = modeOf(k, id);
      this.metrics.ruleMode.set({ rule: id, mode: typeof m === 'string' ? m : 'pilot' }, 1);
    }
  }
}
