import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { DEMO_PATIENTS, demoTransaction } from '../src/demo/patients';

const NOW = '2026-11-25T12:00:00Z';
const bin = path.resolve(__dirname, '../bin/crosstalk.js');
const CHILD_PROCESS_MS = 60_000;
const COPIES = 4;

/** The demo patients several times over under new ids: a Bundle whose evaluation is several hundred KB of JSON. */
function bigBundleFile(): { file: string; ids: string[] } {
  const demo = demoTransaction(new Date(NOW));
  const entry: BundleEntry[] = [];
  const ids: string[] = [];
  for (let k = 0; k < COPIES; k++) {
    for (const e of demo.entry ?? []) {
      const r = JSON.parse(JSON.stringify(e.resource)) as Resource & { subject?: { reference?: string } };
      if (r.resourceType === 'Patient') {
        r.id = `${r.id}-copy${k}`;
        ids.push(`Patient/${r.id}`);
      } else {
        r.id = `${r.id}-copy${k}`;
        if (r.subject?.reference) r.subject.reference = `${r.subject.reference}-copy${k}`;
      }
      entry.push({ resource: r });
    }
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry };
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-pipe-')), 'bundle.json');
  fs.writeFileSync(file, JSON.stringify(bundle));
  return { file, ids };
}

/** Runs a shell pipeline (bash, pipefail off so each side's status is reported) and collects what it prints. */
function pipeline(script: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

const node = JSON.stringify(process.execPath);
const cli = JSON.stringify(bin);

describe('crosstalk evaluate writing into a pipe', () => {
  const { file, ids } = bigBundleFile();
  const f = JSON.stringify(file);

  it(
    'delivers the whole JSON array through a pipe, however large, with every patient in it',
    async () => {
      // `cat` between: the CLI's stdout is a pipe, exactly as in `crosstalk evaluate … | jq`.
      const r = await pipeline(
        `${node} ${cli} evaluate ${f} --now ${NOW} | cat; echo "cli-status \${PIPESTATUS[0]}" >&2`,
      );
      expect(r.stderr).toContain('cli-status 0');
      expect(r.stdout.length).toBeGreaterThan(300_000);
      const parsed = JSON.parse(r.stdout) as { patient: string }[];
      expect(parsed.map((p) => p.patient)).toEqual(ids);
      expect(ids).toHaveLength(DEMO_PATIENTS.length * COPIES);
      // Written one element at a time, it is still byte for byte the documented pretty-printed array.
      expect(r.stdout).toBe(`${JSON.stringify(parsed, null, 2)}\n`);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'prints one patient per line with --format ndjson, each line a whole result',
    async () => {
      const r = await pipeline(
        `${node} ${cli} evaluate ${f} --now ${NOW} --format ndjson | cat; echo "cli-status \${PIPESTATUS[0]}" >&2`,
      );
      expect(r.stderr).toContain('cli-status 0');
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { patient: string }).patient)).toEqual(ids);
    },
    CHILD_PROCESS_MS,
  );

  it(
    'ends quietly with a non-zero status when the reader leaves early (| head -1)',
    async () => {
      const r = await pipeline(
        `${node} ${cli} evaluate ${f} --now ${NOW} --format ndjson | head -1; echo "cli-status \${PIPESTATUS[0]}" >&2`,
      );
      expect((JSON.parse(r.stdout) as { patient: string }).patient).toBe(ids[0]);
      const status = Number(/cli-status (\d+)/.exec(r.stderr)?.[1]);
      expect(status).not.toBe(0);
      expect(r.stderr.replace(/cli-status \d+\n?/, '')).toBe('');
    },
    CHILD_PROCESS_MS,
  );

  it(
    'refuses an unknown --format with a clear message',
    async () => {
      const r = await pipeline(
        `${node} ${cli} evaluate ${f} --format xml | cat; echo "cli-status \${PIPESTATUS[0]}" >&2`,
      );
      expect(r.stderr).toContain('--format: expected json or ndjson, not xml');
      expect(r.stderr).toContain('cli-status 1');
    },
    CHILD_PROCESS_MS,
  );
});
