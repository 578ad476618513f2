/**
 * `crosstalk calibrate` and `crosstalk calibrate merge`: read an export patient by patient, evaluate in a pool of
 * worker threads, add up aggregates, and write report.html, calibration.json and site-knowledge.json. A shard run
 * also writes aggregates.json, the mergeable counts (fine CCR histograms): it stays inside the site like the export.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { readsOf } from '../cds/reads';
import { type CdsService, loadServices } from '../cds/services';
import type { Knowledge } from '../clinical';
import { ConfigError } from '../config/errors';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { type Aggregates, emptyAggregates, mergeAggregates, mergeInto } from './aggregate';
import { ExportReader, type Shard } from './read';
import { readPlan } from './read-plan';
import { renderReport } from './report';
import { type Calibration, siteKnowledge, summarise } from './summary';
import type { Batch, BatchResult, WorkerSetup } from './worker';

export interface CalibrateOptions {
  input: string;
  out: string;
  percentile: number;
  minPerSex: number;
  siteKnowledge?: string;
  shard?: Shard;
  asOf: Date;
  workers?: number;
  /** Where progress goes; nothing is written when it is not a terminal. */
  progress?: NodeJS.WriteStream;
}

const BATCH = 200;
const IN_FLIGHT_PER_WORKER = 2;

/**
 * The worker's entry. In the image it is the compiled worker.js beside this file. In a checkout (TypeScript
 * sources) it is the worker and the engine bundled into one JavaScript file by esbuild (a devDependency, like tsx),
 * which a thread loads in a few milliseconds, where each thread would otherwise load tsx and transpile the engine
 * module by module; tsx remains the fallback when esbuild is not installed.
 */
async function workerEntry(tempDir: string): Promise<{ file: string; execArgv: string[] }> {
  const ext = path.extname(__filename);
  const source = path.join(__dirname, `worker${ext}`);
  if (ext !== '.ts') return { file: source, execArgv: [] };
  let esbuild: typeof import('esbuild') | undefined;
  try {
    esbuild = require('esbuild') as typeof import('esbuild');
  } catch {
    esbuild = undefined;
  }
  // Only the TypeScript hook: the parent's own flags (a heap size, an inspector) are not the workers' to take.
  if (!esbuild) return { file: source, execArgv: ['--require', require.resolve('tsx/cjs')] };
  const file = path.join(tempDir, 'worker.cjs');
  try {
    await esbuild.build({
      entryPoints: [source],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      logLevel: 'silent',
    });
  } finally {
    // esbuild keeps a helper process for further builds; there are none.
    await esbuild.stop();
  }
  return { file, execArgv: [] };
}

class Progress {
  private readonly start = Date.now();
  private last = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream | undefined,
    private readonly totalPatients: number | undefined,
  ) {}
  get on(): boolean {
    return !!this.stream?.isTTY;
  }
  update(done: number, force = false): void {
    if (!this.on || !this.stream) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    const secs = (now - this.start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const total = this.totalPatients ?? 0;
    const width = 30;
    const frac = total ? Math.min(1, done / total) : 0;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const left = total && rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
    const eta =
      left === undefined
        ? ''
        : ` ~${left >= 60 ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s` : `${Math.round(left)}s`} left`;
    this.stream.write(`\r${bar} ${done}${total ? `/${total}` : ''} patients  ${Math.round(rate)}/s${eta}   `);
  }
  finish(done: number): void {
    if (!this.on || !this.stream) return;
    this.update(done, true);
    this.stream.write('\n');
  }
}

/**
 * What every worker thread is sent first, loaded here once for all of them: the knowledge with the site file,
 * validated exactly as the service loads it (a site file that does not load stops the run with the loader's own
 * message), and the service's rule list and read plan, as for `crosstalk evaluate`.
 */
function loadSetup(o: CalibrateOptions): { knowledge: Knowledge; service: CdsService } {
  const knowledge = loadKnowledgeSync(o.siteKnowledge);
  const service = loadServices().get('bone-muscle-patient-view');
  if (!service) throw new ConfigError('service bone-muscle-patient-view is not defined');
  return { knowledge, service };
}

async function workerSetup(
  o: CalibrateOptions,
  loaded: { knowledge: Knowledge; service: CdsService },
  reader: ExportReader,
): Promise<WorkerSetup> {
  const plan = await readPlan(readsOf(loaded.service.definition));
  return {
    asOf: o.asOf.toISOString(),
    knowledge: loaded.knowledge,
    rules: loaded.service.rules.map((r) => r.id),
    plan: { types: [...plan.types], unavailable: plan.unavailable },
    medications: await reader.medications(),
  };
}

/** Evaluates every patient of the input (or of one shard of it) and returns the aggregates. */
export async function aggregateExport(o: CalibrateOptions): Promise<Aggregates> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-calibrate-'));
  const size = Math.max(1, o.workers ?? os.availableParallelism());
  const workers: Worker[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let reader: ExportReader | undefined;
  try {
    // DuckDB reads the export, and esbuild bundles the worker, on their own threads while this one loads the
    // knowledge; the threads start once it is valid and load the engine while DuckDB is still reading.
    const opening = ExportReader.open(o.input, { tempDir, ...(o.shard ? { shard: o.shard } : {}) });
    const entry = workerEntry(tempDir);
    // Not left unhandled if the knowledge fails first; otherwise their errors are thrown by the awaits below.
    opening.catch(() => undefined);
    entry.catch(() => undefined);
    let setup: WorkerSetup;
    try {
      const loaded = loadSetup(o);
      const { file, execArgv } = await entry;
      for (let i = 0; i < size; i++) {
        // A small heap keeps each thread near what one batch needs: the peak of the whole run is what a site's machine
        // must have.
        const w = new Worker(file, {
          execArgv,
          resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 4 },
        });
        w.on('error', (e) => {
          failure ??= new ConfigError(`evaluation failed: ${e.message}`);
          signal();
        });
        workers.push(w);
      }
      reader = await opening;
      setup = await workerSetup(o, loaded, reader);
    } catch (e) {
      await entry.catch(() => undefined);
      if (!reader)
        await opening.then(
          (r) => r.close(),
          () => undefined,
        );
      throw e;
    }
    const progress = new Progress(o.progress, o.progress?.isTTY ? await reader.countPatients() : undefined);
    for (const w of workers) w.postMessage(setup);
    const total = emptyAggregates();
    let done = 0;
    const inFlight = new Map<Worker, number>();
    const pending = new Map<number, { worker: Worker; patients: number }>();
    for (const w of workers) {
      w.on('message', (r: BatchResult) => {
        const p = pending.get(r.id);
        pending.delete(r.id);
        inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
        mergeInto(total, r.aggregates);
        done += p?.patients ?? 0;
        progress.update(done);
        signal();
      });
      inFlight.set(w, 0);
    }
    const freeWorker = async (): Promise<Worker> => {
      for (;;) {
        if (failure) throw failure;
        let best: Worker | undefined;
        for (const [w, n] of inFlight)
          if (n < IN_FLIGHT_PER_WORKER && (!best || n < (inFlight.get(best) ?? 0))) best = w;
        if (best) return best;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    let nextId = 0;
    let batch: string[][] = [];
    const send = async () => {
      if (!batch.length) return;
      const w = await freeWorker();
      const id = nextId++;
      pending.set(id, { worker: w, patients: batch.length });
      inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
      w.postMessage({ id, patients: batch } satisfies Batch);
      batch = [];
    };
    let orphans = 0;
    for await (const group of reader.patients((n) => (orphans += n))) {
      batch.push(group);
      if (batch.length >= BATCH) await send();
    }
    await send();
    while (pending.size) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
    progress.finish(done);
    total.orphanResources += orphans;
    return total;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    if (reader) reader.close();
    else fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

export interface WriteOptions {
  out: string;
  percentile: number;
  minPerSex: number;
  siteKnowledge?: string;
  source: string;
  asOf: Date;
}

/** Writes the three outputs from aggregates; the same function serves one run and a merge, so they agree. */
export function writeOutputs(agg: Aggregates, o: WriteOptions): Calibration {
  const knowledge = loadKnowledgeSync(o.siteKnowledge);
  const c = summarise(agg, knowledge, {
    percentile: o.percentile,
    minPerSex: o.minPerSex,
    source: o.source,
    asOf: o.asOf.toISOString(),
  });
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'calibration.json'), `${JSON.stringify(c, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'site-knowledge.json'), `${JSON.stringify(siteKnowledge(c), null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'report.html'), renderReport(c));
  return c;
}

/** What a shard leaves for merge: the aggregates and the settings the outputs were made with. */
interface ShardState {
  aggregates: Aggregates;
  settings: {
    percentile: number;
    minPerSex: number;
    source: string;
    asOf: string;
    siteKnowledge?: string;
    shard: Shard;
  };
}

export async function calibrate(o: CalibrateOptions): Promise<Calibration> {
  const agg = await aggregateExport(o);
  const source = path.basename(path.resolve(o.input));
  const settings = { percentile: o.percentile, minPerSex: o.minPerSex, source, asOf: o.asOf };
  const c = writeOutputs(agg, {
    out: o.out,
    ...settings,
    ...(o.siteKnowledge ? { siteKnowledge: o.siteKnowledge } : {}),
  });
  if (o.shard) {
    const state: ShardState = {
      aggregates: agg,
      settings: {
        ...settings,
        asOf: o.asOf.toISOString(),
        shard: o.shard,
        ...(o.siteKnowledge ? { siteKnowledge: path.resolve(o.siteKnowledge) } : {}),
      },
    };
    fs.writeFileSync(path.join(o.out, 'aggregates.json'), JSON.stringify(state));
  }
  return c;
}

/** Adds up shard directories; refuses shards made with different settings or a shard given twice. */
export function mergeShards(dirs: string[], out: string): Calibration {
  if (!dirs.length) throw new ConfigError('calibrate merge needs at least one shard directory');
  const states = dirs.map((d) => {
    const f = path.join(d, 'aggregates.json');
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')) as ShardState;
    } catch (e) {
      throw new ConfigError(`cannot read ${f} (was it made with --shard?): ${(e as Error).message}`);
    }
  });
  const first = (states[0] as ShardState).settings;
  const seen = new Set<number>();
  for (const s of states) {
    const t = s.settings;
    if (
      t.percentile !== first.percentile ||
      t.minPerSex !== first.minPerSex ||
      t.asOf !== first.asOf ||
      t.shard.count !== first.shard.count ||
      t.siteKnowledge !== first.siteKnowledge
    ) {
      throw new ConfigError(
        'shards were made with different settings (percentile, min-per-sex, evaluation time, shard count or site file)',
      );
    }
    if (seen.has(t.shard.index)) throw new ConfigError(`shard ${t.shard.index}/${t.shard.count} given twice`);
    seen.add(t.shard.index);
  }
  if (seen.size !== first.shard.count)
    process.stderr.write(
      `calibrate merge: ${seen.size} of ${first.shard.count} shards: the outputs cover only those\n`,
    );
  const agg = states.map((s) => s.aggregates).reduce(mergeAggregates);
  const source = [...new Set(states.map((s) => s.settings.source))].sort().join(', ');
  return writeOutputs(agg, {
    out,
    percentile: first.percentile,
    minPerSex: first.minPerSex,
    source,
    asOf: new Date(first.asOf),
    ...(first.siteKnowledge ? { siteKnowledge: first.siteKnowledge } : {}),
  });
}
