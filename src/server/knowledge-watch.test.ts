import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCrosstalk } from '../../test/support/child';
import { hookRequest, ruleIds } from '../../test/support/harness';
import { watchKnowledgeFile } from './knowledge-watch';

const PV = 'bone-muscle-patient-view';

/**
 * A directory laid out as the kubelet lays out a ConfigMap volume: the file is a symlink through `..data` to a
 * timestamped directory, and an update writes a new directory and renames a new `..data` symlink over the old one.
 */
function configMapVolume(dir: string, name: string) {
  let generation = 0;
  const write = (content: string) => {
    generation += 1;
    const gen = `..${Date.now()}_${generation}`;
    fs.mkdirSync(path.join(dir, gen));
    fs.writeFileSync(path.join(dir, gen, name), content);
    const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
    fs.symlinkSync(gen, path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
    if (old) fs.rmSync(path.join(dir, old), { recursive: true });
  };
  return { file: path.join(dir, name), write };
}

describe('the site knowledge watch', () => {
  it('sees a ConfigMap-style symlink swap, reloads once per change, and not again while the content stays', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-watch-'));
    try {
      const vol = configMapVolume(dir, 'site.json');
      vol.write('{"a":1}');
      let reloads = 0;
      // A long interval: the test drives the poll's step itself.
      const w = watchKnowledgeFile(vol.file, 3_600_000, () => {
        reloads += 1;
      });
      w.check();
      expect(reloads).toBe(0);
      // Same length, new bytes, new inode behind the same path.
      vol.write('{"a":2}');
      w.check();
      w.check();
      expect(reloads).toBe(1);
      // Back to content seen before is still a change from what runs now.
      vol.write('{"a":1}');
      w.check();
      expect(reloads).toBe(2);
      w.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a replica follows its mounted site knowledge file, in a process of its own', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-watch-proc-'));
  const mount = path.join(dir, 'knowledge');
  fs.mkdirSync(mount);
  const vol = configMapVolume(mount, 'site.json');
  let ct: Awaited<ReturnType<typeof spawnCrosstalk>> | undefined;

  afterAll(async () => {
    if (ct && ct.child.exitCode === null) {
      ct.child.kill('SIGTERM');
      await ct.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (patientId: string) => {
    const res = await fetch(`${ct?.url}/cds-services/${PV}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hookRequest(patientId, { fhirServer: `${ct?.url}/fhir` })),
    });
    expect(res.status).toBe(200);
    return ruleIds((await res.json()) as Parameters<typeof ruleIds>[0]);
  };
  const verdicts = () => (ct?.output() ?? '').split('\n').filter((l) => l.includes('"event":"knowledge-reload"'));
  /** Waits, without any signal, for the watch's next reload verdict in the log. */
  const nextVerdict = async (seen: number): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const v = verdicts();
      if (v.length > seen) return v[v.length - 1] as string;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the watch logged no reload verdict');
  };
  const metric = async (result: string) => {
    const text = await (await fetch(`${ct?.url}/metrics`)).text();
    const m = new RegExp(`^crosstalk_knowledge_reloads_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text);
    return Number(m?.[1] ?? 0);
  };

  it('applies a changed file with no restart and no SIGHUP, and keeps the running knowledge when the new file is invalid', async () => {
    vol.write(JSON.stringify({ rules: { 'low-ccr': { mode: 'silent' } } }));
    ct = await spawnCrosstalk({
      CROSSTALK_EMBEDDED_FHIR: 'true',
      CROSSTALK_DEMO_SEED: 'true',
      CROSSTALK_DATA_DIR: path.join(dir, 'data'),
      CROSSTALK_SITE_KNOWLEDGE: vol.file,
      CROSSTALK_SITE_KNOWLEDGE_POLL_MS: '100',
    });
    const pid = ct.child.pid;
    expect(await call('demo-low-ccr')).toEqual([]);

    vol.write(JSON.stringify({ rules: { 'low-ccr': { mode: 'active' } } }));
    expect(await nextVerdict(0)).toMatch(/"result":"applied"/);
    expect(await call('demo-low-ccr')).toEqual(['low-ccr']);
    expect(await metric('applied')).toBe(1);

    vol.write(JSON.stringify({ rules: { 'low-ccr': { threshold: { below: { female: 'low' } } } } }));
    expect(await nextVerdict(1)).toMatch(/"result":"rejected".*invalid clinical knowledge/);
    expect(await call('demo-low-ccr')).toEqual(['low-ccr']);
    expect(await metric('rejected')).toBe(1);

    // The same bad content is not retried every poll: ten intervals later, still one rejection.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(verdicts()).toHaveLength(2);
    expect(await metric('rejected')).toBe(1);
    expect(ct.child.exitCode).toBeNull();
    expect(ct.child.pid).toBe(pid);
  }, 60_000);
});
