/** Argument handling for `crosstalk calibrate`, `calibrate merge` and `demo-population`. */
import path from 'node:path';
import { ConfigError } from '../config/errors';
import type { Shard } from './read';
import { calibrate, mergeShards } from './run';

const VALUED = new Set([
  '--out',
  '--percentile',
  '--min-per-sex',
  '--site-knowledge',
  '--shard',
  '--now',
  '--patients',
  '--seed',
]);

function parse(args: string[]): { positional: string[]; options: Map<string, string> } {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('--')) {
      if (!VALUED.has(a)) throw new ConfigError(`unknown option ${a}`);
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new ConfigError(`${a} needs a value`);
      options.set(a, v);
      i++;
    } else positional.push(a);
  }
  return { positional, options };
}

function number(
  options: Map<string, string>,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  what: string,
): number {
  const s = options.get(name);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(`${name}: expected ${what}, not ${s}`);
  return n;
}

function shardOf(s: string | undefined): Shard | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count)
    throw new ConfigError(`--shard: expected i/n with 0 ≤ i < n (e.g. 0/4), not ${s}`);
  return { index, count };
}

export async function runCalibrate(args: string[], asOf: Date): Promise<number> {
  const { positional, options } = parse(args);
  const out = options.get('--out');
  if (!out) throw new ConfigError('calibrate needs --out <dir>');
  if (positional[0] === 'merge') {
    const c = mergeShards(positional.slice(1), out);
    process.stderr.write(
      `calibrate merge: wrote ${out}/report.html, calibration.json, site-knowledge.json (${c.population.patients} patients)\n`,
    );
    return 0;
  }
  const input = positional[0];
  if (!input || positional.length > 1)
    throw new ConfigError('calibrate needs one input: an export directory or a Bundle file');
  const shard = shardOf(options.get('--shard'));
  const siteKnowledge = options.get('--site-knowledge') ?? process.env.CROSSTALK_SITE_KNOWLEDGE;
  const c = await calibrate({
    input,
    out,
    asOf,
    percentile: number(options, '--percentile', 25, (n) => n > 0 && n < 100, 'a percentile between 0 and 100'),
    minPerSex: number(options, '--min-per-sex', 200, (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1'),
    ...(siteKnowledge ? { siteKnowledge } : {}),
    ...(shard ? { shard } : {}),
    progress: process.stderr,
  });
  process.stderr.write(
    `calibrate: wrote ${out}/report.html, calibration.json, site-knowledge.json (${c.population.patients} patients)\n`,
  );
  return 0;
}

export async function runDemoPopulation(args: string[], now: Date): Promise<number> {
  const { options } = parse(args);
  const out = options.get('--out');
  if (!out) throw new ConfigError('demo-population needs --out <dir>');
  const patients = number(options, '--patients', 1000, (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1');
  const seed = number(options, '--seed', 1, (n) => Number.isInteger(n) && n >= 0, 'a whole number ≥ 0');
  // Demo code, loaded by path for this command only: calibrate and the service never load src/demo.
  const { writePopulation } = require(path.join(__dirname, '..', 'demo', 'population')) as {
    writePopulation: (o: { patients: number; seed: number; now: Date; out: string }) => Promise<string[]>;
  };
  const types = await writePopulation({ patients, seed, now, out });
  process.stderr.write(`demo-population: ${patients} patients in ${out} (${types.join(', ')})\n`);
  return 0;
}
