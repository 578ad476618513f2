import Table from 'cli-table3';
import { HttpProblem } from '../cds/outcomes';
import { ConfigError } from '../config/knowledge-file';
import { parseReportQuery } from '../server/admin';
import { loadConfig } from '../server/config';
import { describeStore, openStore } from '../store/open';
import type { GovernanceReport, RuleReport } from '../store/types';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const percent = (part: number, whole: number) => (whole ? `${Math.round((100 * part) / whole)}%` : '');

const HEAD = [
  'period',
  'rule',
  'calls',
  'fired',
  'fired /1000 calls',
  'would have shown',
  'would have shown /1000 calls',
  'suppressed',
  'accepted',
  'overridden',
  'accepted %',
  'median ms',
  'top override reasons',
  'suppression reasons',
];

/** The report as a text table: one row per rule and period, in the order the report gives them. */
export function reportTable(report: GovernanceReport): string {
  // No colours: the table is read in terminals and in files alike.
  const table = new Table({
    head: HEAD,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of report.rules as RuleReport[]) {
    table.push([
      report.interval === 'all'
        ? `${r.periodStart.slice(0, 10)} – ${r.periodEnd.slice(0, 10)}`
        : r.periodStart.slice(0, 10),
      r.ruleId,
      r.calls,
      r.fired,
      r.firedPer1000Calls,
      r.wouldHaveShown,
      r.wouldHaveShownPer1000Calls,
      r.suppressed,
      r.accepted,
      r.overridden,
      percent(r.accepted, r.fired),
      r.medianLatencyMs !== undefined ? (Math.round(r.medianLatencyMs * 10) / 10).toFixed(1) : '',
      r.topOverrideReasons.map((o) => `${o.code ?? '(comment only)'} ×${o.count}`).join(', '),
      r.suppressionReasons.map((s) => `${s.code} ×${s.count}`).join(', '),
    ]);
  }
  return table.toString();
}

/** `crosstalk report`: the governance report from the configured store, as a table or (--json) as the admin endpoint gives it. */
export async function runReport(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (s: string) => Promise<void> | void,
): Promise<number> {
  const config = loadConfig(env);
  let query;
  try {
    query = parseReportQuery(
      Object.fromEntries(
        (['from', 'to', 'interval', 'top'] as const).flatMap((k) => {
          const v = option(args, `--${k}`);
          return v === undefined ? [] : [[k, v]];
        }),
      ),
    );
  } catch (e) {
    if (e instanceof HttpProblem) throw new ConfigError(`${e.message} ${e.outcome.issue[0]?.diagnostics ?? ''}`.trim());
    throw e;
  }
  const store = await openStore(config, { mustExist: true }).catch((e: Error) => {
    throw new ConfigError(
      `cannot open the store (${describeStore(config)}): ${e.message}; set CROSSTALK_DATA_DIR or DATABASE_URL as the service has them`,
    );
  });
  try {
    const report = await store.report(query);
    if (args.includes('--json')) {
      await out(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    await out(
      `Crosstalk governance report, ${report.from} to ${report.to} (${report.interval === 'all' ? 'one period' : `per ${report.interval}`}), ${describeStore(config)}\n`,
    );
    await out(report.rules.length ? `${reportTable(report)}\n` : 'No service calls in this period.\n');
    await out(
      'Accepted and overridden count each card once, by its latest feedback, in the period the card was issued; median latency is over the calls in which the rule fired; "would have shown" counts cards a silent rule, or a pilot rule outside its cohort, evaluated and withheld.\n',
    );
    return 0;
  } finally {
    await store.close();
  }
}
