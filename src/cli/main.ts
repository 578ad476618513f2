// First, for its effect: an unsupported Node stops here with a message, before any native module loads.
import '../runtime/node-version';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle } from 'fhir/r4';
import { ConfigError } from '../config/errors';
import { type Output, OutputClosed, streamOutput } from './output';
import { TOKEN_USAGE } from './token-usage';

const USAGE = `usage:
  crosstalk evaluate <bundle.json> [--now <ISO date>] [--site-knowledge <file>] [--format json|ndjson]
      Evaluate every Patient in a FHIR Bundle as patient-view would. Prints a JSON array (default), or with
      --format ndjson one patient per line, each written as soon as it is evaluated.
  crosstalk demo-bundle [--now <ISO date>]
      Print the synthetic demo patients as a transaction Bundle.
  crosstalk seed --fhir <base URL>
      POST the demo transaction Bundle to a FHIR R4 server (e.g. HAPI in docker-compose).
  crosstalk report [--from <date>] [--to <date>] [--interval all|day|week] [--top <n>] [--json]
      Governance report from the store the service uses (CROSSTALK_DATA_DIR or DATABASE_URL): per rule and
      period, cards fired, suppressed, accepted, overridden, top override reasons, median latency.
      Default: the 30 days up to now, as one period; from inclusive, to exclusive, dates in UTC.
  crosstalk migrate
      Bring the schema of the store the service uses (CROSSTALK_DATA_DIR or DATABASE_URL) up to date, and exit:
      the migration step of an upgrade (deploy/kubernetes migration Job). Safe to run again; exit 1 on failure.
  crosstalk calibrate <export dir | bundle.json> --out <dir> [--percentile 25] [--min-per-sex 200]
      [--site-knowledge <file>] [--shard i/n] [--now <ISO date>]
      Evaluate every patient of a FHIR Bulk Data export (NDJSON files) or Bundle as patient-view would, and write
      report.html, calibration.json and site-knowledge.json (aggregates only). --shard i/n takes one part of the
      patients by hash of their id and also writes aggregates.json for merge.
  crosstalk calibrate merge <shard dir>... --out <dir>
      Combine shard outputs into the outputs one run over all patients would have written.
  crosstalk registration --ehr generic|epic|oracle --base-url <URL> [--json] [--site-knowledge <file>]
      Print what hospital IT enters in that EHR's CDS Hooks registration: each service's id, hook, title,
      description, URL and feedback URL, the prefetch that EHR fills, the FHIR scopes, and what its keys and
      issuer must be (profiles: cds-hooks/ehr-profiles.json).
  crosstalk registration --check <base or discovery URL> [--ehr <profile>] [--json]
      Fetch a running Crosstalk's discovery and list where it differs from what the command prints; exit 1 on
      drift. Outside development mode set CROSSTALK_CHECK_TOKEN to a client JWT whose aud is the discovery URL.
  crosstalk demo-population --patients <N> --seed <S> --out <dir> [--now <ISO date>]
      Write a synthetic Bulk Data export of N patients (one NDJSON file per resource type), the same for the same
      seed and date.
${TOKEN_USAGE}`;

/** The demo's synthetic patients, loaded by path only for the demo commands: evaluate and report never load demo code. */
function demoTransaction(now: Date): Bundle {
  return (
    require(path.join(__dirname, '..', 'demo', 'patients')) as { demoTransaction: (now: Date) => Bundle }
  ).demoTransaction(now);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function parseNow(args: string[]): Date {
  const s = option(args, '--now');
  const d = s ? new Date(s) : new Date();
  if (Number.isNaN(d.getTime())) throw new ConfigError(`--now: not a date: ${s}`);
  return d;
}

/** The JSON array, one element at a time: output never has to be held whole in memory. */
async function writeJsonArray(out: Output, items: AsyncIterable<unknown>): Promise<void> {
  let first = true;
  for await (const item of items) {
    const text = JSON.stringify(item, null, 2).replace(/\n/g, '\n  ');
    await out.write(`${first ? '[\n  ' : ',\n  '}${text}`);
    first = false;
  }
  await out.write(first ? '[]\n' : '\n]\n');
}

async function main(args: string[], out: Output): Promise<number> {
  const [cmd, ...rest] = args;
  if (cmd === 'evaluate') {
    const file = rest.find((a, i) => !a.startsWith('--') && !rest[i - 1]?.startsWith('--'));
    if (!file) throw new ConfigError('evaluate needs a Bundle file');
    let bundle: unknown;
    try {
      bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
    }
    // Each command loads its own modules, so `calibrate` does not pay for the store and `report` not for the engine.
    const { evaluateBundleEach, isBundle } = require('./evaluate') as typeof import('./evaluate');
    const { loadKnowledgeSync } = require('../config/knowledge-file') as typeof import('../config/knowledge-file');
    const { loadServices } = require('../cds/services') as typeof import('../cds/services');
    if (!isBundle(bundle)) throw new ConfigError(`${file} is not a FHIR Bundle`);
    const format = option(rest, '--format') ?? 'json';
    if (format !== 'json' && format !== 'ndjson')
      throw new ConfigError(`--format: expected json or ndjson, not ${format}`);
    const knowledge = loadKnowledgeSync(option(rest, '--site-knowledge') ?? process.env.CROSSTALK_SITE_KNOWLEDGE);
    const service = loadServices(undefined, undefined, knowledge).get('bone-muscle-patient-view');
    if (!service) throw new ConfigError('service bone-muscle-patient-view is not defined');
    const results = evaluateBundleEach(bundle, service, knowledge, parseNow(rest));
    if (format === 'ndjson') for await (const r of results) await out.write(`${JSON.stringify(r)}\n`);
    else await writeJsonArray(out, results);
    return 0;
  }
  if (cmd === 'demo-bundle') {
    await out.write(`${JSON.stringify(demoTransaction(parseNow(rest)), null, 2)}\n`);
    return 0;
  }
  if (cmd === 'seed') {
    const base = option(rest, '--fhir');
    if (!base) throw new ConfigError('seed needs --fhir <base URL>');
    const res = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body: JSON.stringify(demoTransaction(new Date())),
    });
    process.stderr.write(`seed: ${base} answered HTTP ${res.status}\n`);
    return res.ok ? 0 : 1;
  }
  if (cmd === 'registration')
    return (require('./registration') as typeof import('./registration')).runRegistration(rest, process.env, (s) =>
      out.write(s),
    );
  if (cmd === 'token')
    return (require('./token') as typeof import('./token')).runToken(rest, process.env, (s) => out.write(s));
  if (cmd === 'report')
    return (require('./report') as typeof import('./report')).runReport(rest, process.env, (s) => out.write(s));
  if (cmd === 'migrate') {
    const { loadConfig } = require('../server/config') as typeof import('../server/config');
    const { describeStore, migrateStore } = require('../store/open') as typeof import('../store/open');
    const config = loadConfig(process.env);
    const where = describeStore(config);
    const { applied, latest } = await migrateStore(config).catch((e: Error) => {
      throw new ConfigError(`cannot migrate the store (${where}): ${e.message}`);
    });
    process.stderr.write(
      applied.length
        ? `migrate: ${where}: applied ${applied.join(', ')}; schema now at ${latest}\n`
        : `migrate: ${where}: already at ${latest}, nothing to apply\n`,
    );
    return 0;
  }
  // Loaded on demand: the other commands need neither DuckDB's native library nor the calibration code.
  const calibration = () => require('../calibrate/cli') as typeof import('../calibrate/cli');
  if (cmd === 'calibrate') return calibration().runCalibrate(rest, parseNow(rest));
  if (cmd === 'demo-population') return calibration().runDemoPopulation(rest, parseNow(rest));
  process.stderr.write(USAGE);
  return cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 2;
}

// No process.exit(): the process ends by itself once stdout and stderr have drained, with this status.
main(process.argv.slice(2), streamOutput(process.stdout)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof OutputClosed) {
      // The reader left (`| head`): nothing more to say to it, and nothing worth a stack trace.
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`crosstalk: ${e instanceof ConfigError ? e.message : ((e as Error)?.message ?? String(e))}\n`);
    process.exitCode = 1;
  },
);
