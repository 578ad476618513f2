/**
 * Builds the browser bundles into dist/web: the SMART app (/app) and the demo EHR (/demo). esbuild bundles
 * every library in (fhirclient, Chart.js, marked, DOMPurify, UCUM and the clinical engine itself), so the pages
 * load nothing from outside the service's own origin.
 *
 * Run by `npm run build:web`, which `npm start` and `npm run build` (the container image) both run, and by the
 * test suite's global setup. Built ahead rather than on the fly at start-up: the production image then carries
 * no compiler, every instance serves the same bytes, and start-up stays as fast as before.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../config/paths';

const SRC = path.join(PROJECT_ROOT, 'src');
export const WEB_OUT = path.join(PROJECT_ROOT, 'dist', 'web');

interface Site {
  folder: string;
  entries: Record<string, string>;
  statics: string[];
}

const SITES: Site[] = [
  {
    folder: 'app',
    entries: { launch: 'app/launch.ts', app: 'app/main.ts' },
    statics: ['app/launch.html', 'app/index.html', 'app/app.css'],
  },
  {
    folder: 'demo',
    entries: { ehr: 'demo/ehr/main.ts' },
    statics: ['demo/ehr/index.html', 'demo/ehr/ehr.css'],
  },
];

export async function buildWeb(outDir = WEB_OUT): Promise<{ files: Record<string, number> }> {
  const files: Record<string, number> = {};
  for (const site of SITES) {
    const dir = path.join(outDir, site.folder);
    // Build beside, then swap: a running server never serves a half-written folder.
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const result = await build({
      entryPoints: Object.fromEntries(Object.entries(site.entries).map(([name, file]) => [name, path.join(SRC, file)])),
      outdir: tmp,
      bundle: true,
      minify: true,
      sourcemap: 'linked',
      format: 'iife',
      platform: 'browser',
      target: ['chrome109', 'edge109', 'firefox115', 'safari15.6'],
      // fhirclient's "pure" build: no fetch/AbortController polyfills, which every supported browser has.
      define: { FHIRCLIENT_PURE: 'true', 'process.env.NODE_ENV': '"production"' },
      legalComments: 'linked',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: PROJECT_ROOT,
    });
    for (const s of site.statics) fs.copyFileSync(path.join(SRC, s), path.join(tmp, path.basename(s)));
    for (const [file, out] of Object.entries(result.metafile.outputs))
      files[`${site.folder}/${path.basename(file)}`] = out.bytes;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return { files };
}

if (require.main === module) {
  const started = Date.now();
  buildWeb()
    .then(({ files }) => {
      const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
      const list = Object.entries(files).filter(([f]) => f.endsWith('.js') && !f.endsWith('.map'));
      process.stdout.write(
        `web bundles in ${Date.now() - started} ms: ${list.map(([f, n]) => `${f} ${kb(n)}`).join(', ')}\n`,
      );
    })
    .catch((e: unknown) => {
      process.stderr.write(`build:web failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
}
