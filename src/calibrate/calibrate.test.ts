import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from '../cds/services';
import { evaluateBundle } from '../cli/evaluate';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { demoTransaction } from '../demo/patients';
import { DEFAULT_PARAMS, trueCcrPercentile, writePopulation } from '../demo/population';
import { aggregateExport, calibrate, mergeShards, writeOutputs } from './run';
import type { Calibration } from './summary';

const NOW = new Date('2026-12-01T00:00:00Z');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-calibrate-test-'));
const dir = (name: string) => path.join(root, name);
const read = (f: string) => fs.readFileSync(f, 'utf8');
const OUTPUTS = ['report.html', 'calibration.json', 'site-knowledge.json'];

let single: Calibration;

beforeAll(async () => {
  await writePopulation({ patients: 2500, seed: 11, now: NOW, out: dir('population') });
  single = await calibrate({ input: dir('population'), out: dir('single'), percentile: 25, minPerSex: 200, asOf: NOW });
}, 240_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('crosstalk calibrate', () => {
  it('proposes per-sex thresholds whose bootstrap 95% CI holds the percentile the generator was built with', () => {
    for (const sex of ['female', 'male'] as const) {
      const p = single.thresholds.proposals.find((x) => x.sex === sex);
      const truth = trueCcrPercentile(DEFAULT_PARAMS, sex, 25);
      expect(p?.threshold, sex).toBeDefined();
      expect(p?.ci95?.[0], sex).toBeLessThanOrEqual(truth);
      expect(p?.ci95?.[1], sex).toBeGreaterThanOrEqual(truth);
      expect(p?.ci95?.[0]).toBeLessThanOrEqual(p?.threshold as number);
      expect(p?.ci95?.[1]).toBeGreaterThanOrEqual(p?.threshold as number);
    }
    expect(single.thresholds.provisional).toBe(false);
  });

  it('counts as many low-CCR cards under the current threshold from its histograms as the engine returned', () => {
    // The proposed-threshold counts come from the same histograms, so they are only as right as this agreement.
    const lowCcr = single.cards.byRule.find((r) => r.ruleId === 'low-ccr');
    const fired = single.outcomes.find((o) => o.ruleId === 'low-ccr' && o.status === 'fired');
    expect(typeof lowCcr?.current).toBe('number');
    expect(lowCcr?.current).toBe(fired?.patients);
    const judged = single.thresholds.proposals.reduce((s, p) => s + (p.eligible as number), 0);
    const notLow = single.outcomes.find((o) => o.ruleId === 'low-ccr' && o.reason === 'ccr-not-low')
      ?.patients as number;
    const superseded = single.outcomes.find((o) => o.ruleId === 'low-ccr' && o.reason === 'superseded')
      ?.patients as number;
    expect(judged).toBe((fired?.patients as number) + notLow + superseded);
  });

  it('predicts the cards per rule under the proposed thresholds that a run with its site file then counts', async () => {
    // One card per patient: a threshold moves cards between low-CCR and the rules it is ahead of, so this checks
    // every rule's prediction, not only low-CCR's.
    const siteFile = path.join(dir('single'), 'site-knowledge.json');
    const again = await calibrate({
      input: dir('population'),
      out: dir('again'),
      percentile: 25,
      minPerSex: 200,
      asOf: NOW,
      siteKnowledge: siteFile,
    });
    const predicted = single.cards.byRule.map((r) => [r.ruleId, r.proposed]);
    expect(again.cards.byRule.map((r) => [r.ruleId, r.current])).toEqual(predicted);
    expect(again.cards.patientsWithCards.current).toBe(single.cards.patientsWithCards.proposed);
    expect(single.cards.byRule.find((r) => r.ruleId === 'low-ccr')?.proposed).not.toBe(
      single.cards.byRule.find((r) => r.ruleId === 'low-ccr')?.current,
    );
  }, 240_000);

  it('keeps the threshold provisional when a sex has fewer judged patients than --min-per-sex', async () => {
    const agg = await aggregateExport({
      input: dir('population'),
      out: dir('strict'),
      percentile: 25,
      minPerSex: 1,
      asOf: NOW,
      shard: { index: 0, count: 4 },
    });
    const c = writeOutputs(agg, {
      out: dir('strict'),
      percentile: 25,
      minPerSex: 100_000,
      source: 'population',
      asOf: NOW,
    });
    expect(c.thresholds.provisional).toBe(true);
    const site = JSON.parse(read(path.join(dir('strict'), 'site-knowledge.json')));
    expect(site.rules['low-ccr'].threshold.provisional).toBe(true);
    expect(site.rules['low-ccr'].threshold.provenance).toMatch(/PROVISIONAL/);
  }, 240_000);

  it('gives, over three shards merged, exactly the outputs of one run over all patients', async () => {
    const shards = [0, 1, 2].map((i) => dir(`shard-${i}`));
    for (const [i, out] of shards.entries()) {
      await calibrate({
        input: dir('population'),
        out,
        percentile: 25,
        minPerSex: 200,
        asOf: NOW,
        shard: { index: i, count: 3 },
      });
    }
    const parts = shards.map((s) => JSON.parse(read(path.join(s, 'calibration.json'))) as Calibration);
    // Each shard holds a real part of the patients, not all or none of them.
    for (const p of parts) expect(p.population.patients).not.toBe(single.population.patients);
    mergeShards(shards, dir('merged'));
    for (const f of OUTPUTS) expect(read(path.join(dir('merged'), f)), f).toBe(read(path.join(dir('single'), f)));
  }, 240_000);

  it('writes no identifier, name, birth date or resource id from the input into any output', () => {
    const secrets = new Set<string>();
    for (const file of ['Patient.ndjson', 'Observation.ndjson', 'Condition.ndjson', 'MedicationRequest.ndjson']) {
      for (const line of read(path.join(dir('population'), file))
        .split('\n')
        .filter(Boolean)) {
        const r = JSON.parse(line) as Resource & {
          identifier?: { value?: string }[];
          birthDate?: string;
          name?: { family?: string }[];
        };
        secrets.add(r.id as string);
        for (const i of r.identifier ?? []) if (i.value) secrets.add(i.value);
        for (const n of r.name ?? []) if (n.family) secrets.add(n.family);
        if (r.birthDate) secrets.add(r.birthDate);
      }
    }
    expect(secrets.size).toBeGreaterThan(2500);
    const outputs = ['single', 'merged', 'shard-0', 'shard-1', 'shard-2'].flatMap((d) =>
      fs.readdirSync(dir(d)).map((f) => path.join(dir(d), f)),
    );
    expect(outputs.some((f) => f.endsWith('aggregates.json'))).toBe(true);
    for (const f of outputs) {
      const text = read(f);
      // Ids are "syn-<seed>-<n>": a whole-token match, so syn-11-1 is not found inside syn-11-12.
      const leaked = [...secrets].filter((s) =>
        new RegExp(`(^|[^\\w-])${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`).test(text),
      );
      expect(leaked, f).toEqual([]);
    }
  });

  it('shows every count under 10 as "< 10" and proposes no threshold from fewer than 10 patients', async () => {
    await writePopulation({ patients: 40, seed: 5, now: NOW, out: dir('tiny') });
    const c = await calibrate({ input: dir('tiny'), out: dir('tiny-out'), percentile: 25, minPerSex: 200, asOf: NOW });
    const counts: unknown[] = [];
    JSON.stringify(c, (k, v) => {
      if (['patients', 'results', 'eligible'].includes(k) && typeof v !== 'object') counts.push(v);
      return v;
    });
    for (const r of c.cards.byRule) counts.push(r.current, r.proposed);
    counts.push(
      c.cards.patientsWithCards.current,
      c.cards.patientsWithCards.proposed,
      c.population.withoutSex,
      c.population.withoutBirthDate,
    );
    expect(counts.filter((v) => typeof v === 'number' && v < 10)).toEqual([]);
    expect(counts).toContain('< 10');
    for (const p of c.thresholds.proposals) {
      if (p.eligible === '< 10') expect(p.threshold).toBeUndefined();
    }
    expect(read(path.join(dir('tiny-out'), 'report.html'))).toContain('&lt; 10');
  }, 240_000);

  it('reads a Bundle whose subjects are urn:uuid fullUrls the same as the NDJSON export of the same patients', async () => {
    await writePopulation({ patients: 300, seed: 9, now: NOW, out: dir('small') });
    const resources = ['Patient', 'Observation', 'Condition', 'MedicationRequest'].flatMap((t) =>
      read(path.join(dir('small'), `${t}.ndjson`))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Resource & { subject?: { reference: string } }),
    );
    const urn = (id: string) =>
      `urn:uuid:00000000-0000-4000-8000-${Buffer.from(id).toString('hex').slice(-12).padStart(12, '0')}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: resources.map((r) => {
        if (r.subject) r.subject = { reference: urn(r.subject.reference.replace('Patient/', '')) };
        return { fullUrl: r.resourceType === 'Patient' ? urn(r.id as string) : `urn:uuid:${r.id}`, resource: r };
      }),
    };
    // Distinct patients must get distinct urns for the test to mean anything.
    expect(new Set(resources.filter((r) => r.resourceType === 'Patient').map((r) => urn(r.id as string))).size).toBe(
      300,
    );
    fs.writeFileSync(dir('small.json'), JSON.stringify(bundle));
    const fromNdjson = await calibrate({
      input: dir('small'),
      out: dir('small-ndjson'),
      percentile: 25,
      minPerSex: 200,
      asOf: NOW,
    });
    const fromBundle = await calibrate({
      input: dir('small.json'),
      out: dir('small-bundle'),
      percentile: 25,
      minPerSex: 200,
      asOf: NOW,
    });
    expect({ ...fromBundle, source: '' }).toEqual({ ...fromNdjson, source: '' });
  }, 240_000);

  it('writes a site file the service loads unchanged, and that changes which demo patients get a low-CCR card', async () => {
    // A site whose patients run low (an assay that reads cystatin C high, say): its 25th percentile falls below 0.6.
    const params = { ...DEFAULT_PARAMS, ccrMeanAt50: { female: 0.62, male: 0.7 }, ccrSd: { female: 0.1, male: 0.1 } };
    await writePopulation({ patients: 1500, seed: 3, now: NOW, out: dir('low-site'), params });
    await calibrate({ input: dir('low-site'), out: dir('low-site-out'), percentile: 25, minPerSex: 50, asOf: NOW });
    const siteFile = path.join(dir('low-site-out'), 'site-knowledge.json');
    const site = loadKnowledgeSync(siteFile);
    const shipped = loadKnowledgeSync();
    expect(site.rules['low-ccr'].threshold.provisional).toBe(false);
    expect(site.rules['low-ccr'].threshold.below.female).toBeLessThan(0.6);
    const service = loadServices().get('bone-muscle-patient-view');
    if (!service) throw new Error('no patient-view service');
    const lowCcrPatients = async (k: typeof site) =>
      (await evaluateBundle(demoTransaction(NOW), service, k, NOW))
        .filter((r) =>
          r.cards.some(
            (c) => (c.extension as { crosstalk?: { ruleId?: string } } | undefined)?.crosstalk?.ruleId === 'low-ccr',
          ),
        )
        .map((r) => r.patient)
        .sort();
    const before = await lowCcrPatients(shipped);
    const after = await lowCcrPatients(site);
    expect(before).toContain('Patient/demo-low-ccr');
    expect(after).not.toEqual(before);
    expect(after).not.toContain('Patient/demo-low-ccr');
  }, 240_000);
});

describe('the calibrate command line', () => {
  const cli = (...args: string[]) =>
    spawnSync(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.join(__dirname, '../cli/main.ts'), ...args],
      { encoding: 'utf8' },
    );

  it('draws no progress bar when stderr is not a terminal, and says only where it wrote', () => {
    const r = cli(
      'demo-population',
      '--patients',
      '60',
      '--seed',
      '4',
      '--now',
      NOW.toISOString(),
      '--out',
      dir('cli-pop'),
    );
    expect(r.status).toBe(0);
    const c = cli('calibrate', dir('cli-pop'), '--out', dir('cli-out'), '--now', NOW.toISOString());
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toBe(
      `calibrate: wrote ${dir('cli-out')}/report.html, calibration.json, site-knowledge.json (60 patients)\n`,
    );
    expect(c.stdout).toBe('');
  }, 120_000);

  it('refuses a shard outside 0 ≤ i < n and an unknown option, with a message and no stack trace', () => {
    const bad = cli('calibrate', dir('cli-pop'), '--out', dir('cli-bad'), '--shard', '3/3');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('crosstalk: --shard: expected i/n with 0 ≤ i < n (e.g. 0/4), not 3/3\n');
    const unknown = cli('calibrate', dir('cli-pop'), '--out', dir('cli-bad'), '--percentil', '20');
    expect(unknown.stderr).toBe('crosstalk: unknown option --percentil\n');
  }, 60_000);
});

describe('crosstalk demo-population', () => {
  it('writes the same export for the same seed and a different one for another seed', async () => {
    await writePopulation({ patients: 50, seed: 1, now: NOW, out: dir('a') });
    await writePopulation({ patients: 50, seed: 1, now: NOW, out: dir('b') });
    await writePopulation({ patients: 50, seed: 2, now: NOW, out: dir('c') });
    for (const f of fs.readdirSync(dir('a')))
      expect(read(path.join(dir('b'), f)), f).toBe(read(path.join(dir('a'), f)));
    expect(read(path.join(dir('c'), 'Observation.ndjson'))).not.toBe(read(path.join(dir('a'), 'Observation.ndjson')));
    const manifest = JSON.parse(read(path.join(dir('a'), 'manifest.json')));
    expect(manifest.output.map((o: { type: string }) => o.type)).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'Condition']),
    );
  });
});
