/**
 * Reading an export patient by patient without holding it: DuckDB reads the NDJSON (or the Bundle) itself, sorts the
 * resources by patient out of core (spilling to a temporary directory past its memory limit), and hands them back a
 * chunk at a time. Only one chunk and the patients being evaluated are ever in this process's memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ConfigError } from '../config/errors';

/**
 * DuckDB's results and chunks hold native memory that is released only when JavaScript collects their wrappers, and
 * this thread allocates too little JavaScript for a collection to come by itself: without one after each bucket the
 * sorted buckets pile up outside the heap. `gc` is exposed for this process only at run time.
 */
const collect: () => void = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : () => undefined;
  } catch {
    return () => undefined;
  }
})();

/** Resource text per sorting bucket: half of DuckDB's memory limit while sorting, so a bucket sorts in memory or nearly. */
const BUCKET_BYTES = 16 << 20;

/** DuckDB's memory limit once the export is read: room to sort one bucket twice over. */
const SORT_MEMORY_MB = 2 * (BUCKET_BYTES >> 20);

export interface Shard {
  index: number;
  count: number;
}

export interface ReadOptions {
  shard?: Shard;
  /** Where DuckDB may spill; removed afterwards. */
  tempDir: string;
  memoryLimit?: string;
  threads?: number;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** NDJSON files of a Bulk Data export (any name ending .ndjson, compressed or not), or one Bundle file. */
export function describeInput(input: string): { kind: 'ndjson'; files: string[] } | { kind: 'bundle'; file: string } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new ConfigError(`cannot read ${input}: no such file or directory`);
  }
  if (stat.isDirectory()) {
    const files = fs
      .readdirSync(input)
      .filter((f) => /\.ndjson(\.gz)?$/.test(f))
      .sort()
      .map((f) => path.join(input, f));
    if (!files.length) throw new ConfigError(`${input}: no .ndjson files (expected a FHIR Bulk Data export)`);
    return { kind: 'ndjson', files };
  }
  return { kind: 'bundle', file: input };
}

/** The shard a patient belongs to: MD5 of its id, so any machine (and any DuckDB version) splits the same way. */
export function shardCondition(shard: Shard | undefined, column: string): string {
  return shard ? ` AND md5_number(${column}) % ${shard.count} = ${shard.index}` : '';
}

export class ExportReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
    private readonly options: ReadOptions,
  ) {}

  static async open(input: string, options: ReadOptions): Promise<ExportReader> {
    const what = describeInput(input);
    fs.mkdirSync(options.tempDir, { recursive: true });
    // A reader buffer is twice the largest object it may meet: one resource per line is small, a Bundle is one object.
    const objectMax = what.kind === 'ndjson' ? 4 << 20 : Math.max(16 << 20, fs.statSync(what.file).size + 1);
    const limitMb = Math.max(96, Math.ceil((3 * objectMax) / (1 << 20)));
    // A database file, not memory: the table of resources below lives on disk and is paged in as buckets are read.
    const instance = await DuckDBInstance.create(path.join(options.tempDir, 'export.duckdb'), {
      memory_limit: options.memoryLimit ?? `${limitMb}MB`,
      temp_directory: options.tempDir,
      threads: String(options.threads ?? 1),
      // Order is ours to choose (by patient); keeping file order as well would cost memory.
      preserve_insertion_order: 'false',
    });
    const db = await instance.connect();
    const big = `maximum_object_size=${objectMax}`;
    const reference = "coalesce(json->'subject'->>'reference', json->'patient'->>'reference')";
    const fromRef = `nullif(regexp_extract(${reference}, '(?:^|/)Patient/([^/]+)$', 1), '')`;
    try {
      if (what.kind === 'ndjson') {
        await db.run(
          `CREATE TEMP VIEW src AS SELECT json FROM read_ndjson_objects([${what.files.map(sqlString).join(', ')}], ${big})`,
        );
        // Each `->>` parses the whole resource again, and a chunk's parses are held together: three of them over a
        // public Synthea export's DocumentReferences (notes as base64) ran past the limit. One parse serves all four.
        const fields = `json_extract_string(json, ['$.resourceType', '$.id', '$.subject.reference', '$.patient.reference'])`;
        const pidOf = `CASE WHEN f[1] = 'Patient' THEN f[2] ELSE nullif(regexp_extract(coalesce(f[3], f[4]), '(?:^|/)Patient/([^/]+)$', 1), '') END`;
        await db.run(
          `CREATE TABLE res AS SELECT f[1] AS rt, ${pidOf} AS pid, body FROM (SELECT ${fields} AS f, json::VARCHAR AS body FROM src)`,
        );
      } else {
        // A Bundle is one JSON document: its entries are unnested, and subjects written as an entry's fullUrl
        // (urn:uuid:…) are resolved to that Patient's id.
        await db.run(
          `CREATE TABLE src AS SELECT e->'resource' AS json, e->>'fullUrl' AS full_url FROM (SELECT unnest(json_extract(json, '$.entry[*]')) AS e FROM read_json_objects(${sqlString(what.file)}, format='unstructured', ${big}))`,
        );
        await db.run(
          `CREATE TEMP VIEW pmap AS SELECT full_url, json->>'id' AS id FROM src WHERE json->>'resourceType' = 'Patient' AND full_url IS NOT NULL`,
        );
        await db.run(
          `CREATE TABLE res AS SELECT json->>'resourceType' AS rt, CASE WHEN json->>'resourceType' = 'Patient' THEN json->>'id' ELSE coalesce(pmap.id, ${fromRef}) END AS pid, json::VARCHAR AS body FROM src LEFT JOIN pmap ON pmap.full_url = ${reference}`,
        );
        await db.run('DROP VIEW pmap');
        await db.run('DROP TABLE src');
      }
    } catch (e) {
      db.closeSync();
      instance.closeSync();
      throw new ConfigError(`cannot read ${input}: ${(e as Error).message.split('\n')[0]}`);
    }
    // Reading the export needed room for the reader's buffers. Sorting one bucket needs less (and spills past the
    // limit), while whatever the limit allows DuckDB fills with cached pages of the table for the rest of the run:
    // at 96 MB that cache alone put the peak of a 100,000-patient run near 600 MB, at 32 MB it is 480 MB and no
    // slower (the pages come back from the OS cache).
    if (!options.memoryLimit) await db.run(`SET memory_limit = '${SORT_MEMORY_MB}MB'`);
    return new ExportReader(instance, db, options);
  }

  /** Medication resources: they have no subject, and any patient's order may point at one. */
  async medications(): Promise<string[]> {
    const r = await this.db.runAndReadAll(`SELECT body FROM res WHERE rt = 'Medication'`);
    return r.getRows().map((row) => String(row[0]));
  }

  async countPatients(): Promise<number> {
    const r = await this.db.runAndReadAll(
      `SELECT count(*) FROM res WHERE rt = 'Patient'${shardCondition(this.options.shard, 'pid')}`,
    );
    return Number(r.getRows()[0]?.[0] ?? 0);
  }

  /**
   * Each patient's resources as JSON text, the Patient first; a group without a Patient (resources whose subject is
   * not in the export) is reported through `orphans` and not evaluated.
   */
  async *patients(orphans: (n: number) => void): AsyncGenerator<string[]> {
    const where = `rt <> 'Medication' AND pid IS NOT NULL${shardCondition(this.options.shard, 'pid')}`;
    // Sorting the whole export at once needs memory (or spill space) for all of it; sorting it in buckets by a hash
    // of the patient id needs memory for one bucket. A bucket holds about BUCKET_BYTES of resource text.
    const size = await this.db.runAndReadAll(`SELECT coalesce(sum(length(body)), 0) FROM res WHERE ${where}`);
    const buckets = Math.max(1, Math.ceil(Number(size.getRows()[0]?.[0] ?? 0) / BUCKET_BYTES));
    for (let b = 0; b < buckets; b++) {
      const result = await this.db.stream(
        `SELECT pid, rt = 'Patient' AS is_patient, body FROM res WHERE ${where} AND hash(pid) % ${buckets} = ${b} ORDER BY pid, rt <> 'Patient'`,
      );
      let current: string | undefined;
      let group: string[] = [];
      let hasPatient = false;
      const done = function* (): Generator<string[]> {
        if (!group.length) return;
        if (hasPatient) yield group;
        else orphans(group.length);
      };
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const [pid, isPatient, body] of chunk.getRows()) {
          if (pid !== current) {
            yield* done();
            current = pid as string;
            group = [];
            hasPatient = !!isPatient;
          }
          group.push(body as string);
        }
      }
      yield* done();
      collect();
    }
  }

  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
    fs.rmSync(this.options.tempDir, { recursive: true, force: true });
  }
}
