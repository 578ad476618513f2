import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadKnowledgeSync } from '../config/knowledge-file';
import { daysAgo, lab, patient } from '../demo/builders';

/*
 * The engine must run unchanged in the SMART app. Bundling it for the browser and running the bundle
 * in a bare V8 context (no require, no process, no fs) proves it has no I/O and no Node dependency.
 */
describe('the clinical engine', () => {
  it('bundles for the browser without Node built-ins and evaluates a patient in a bare JavaScript context', async () => {
    const out = await build({
      entryPoints: [path.join(__dirname, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'CrosstalkEngine',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.filter((i) => i.startsWith('node:') || /^(fs|path|http|https|net|dns)$/.test(i))).toEqual([]);
    expect(inputs.some((i) => i.includes('src/server') || i.includes('src/cds') || i.includes('src/fhir'))).toBe(false);

    const context = vm.createContext({});
    vm.runInContext(`${out.outputFiles[0]!.text}; globalThis.CrosstalkEngine = CrosstalkEngine;`, context);
    const engine = (context as { CrosstalkEngine: typeof import('./index') }).CrosstalkEngine;
    const now = new Date('2026-11-25T12:00:00Z');
    const e = engine.evaluatePatient(
      {
        patient: patient('b1', 'female', '1946-01-15'),
        observations: [
          lab('c', 'b1', 'creatinineMolar', 53, daysAgo(now, 3)),
          lab('y', 'b1', 'cystatinC', 1.0, daysAgo(now, 3)),
        ],
      },
      loadKnowledgeSync(),
      now,
    );
    expect(e.findings.map((f) => f.ruleId)).toEqual(['low-ccr']);
    expect(e.measures.find((m) => m.code === 'ccr')?.value).toBeCloseTo(53 / 88.42, 3);
  });
});
