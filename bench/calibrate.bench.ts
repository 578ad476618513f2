/**
 * What `crosstalk calibrate` costs on 10k, 50k and 100k generated patients (`npm run bench:calibrate`).
 *
 * For each size the population is written first (not timed), then the CLI runs as its own process, exactly as a
 * site would run it; its wall time gives patients/s, and /proc gives the peak resident memory of the whole process
 * tree (DuckDB and the worker threads live in that process). The floor is the 10k run's rate, measured
 * in the same run: the other sizes print their rate as a ratio to it (1.00 = linear). The machine is shared, so the
 * load average is printed beside the numbers. Sizes can be given as arguments: `npm run bench:calibrate -- 2000 4000`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePopulation } from '../src/demo/population';

const NOW = new Date('2026-12-01T00:00:00Z');
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const SIZES = sizes.length ? sizes : [10_000, 50_000, 100_000];
const ROOT = path.join(__dirname, '..');

/**
 * Peak resident memory of the process tree: each process's own high-water mark (VmHWM, kept by the kernel, so no
 * peak between two polls is missed), summed over the process and its descendants (found through each thread's
 * `children` list; calibrate's workers and DuckDB are threads of one process, so the tree is usually that process).
 */
function treePeakKb(root: number): number {
  let kb = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop() as number;
    try {
      kb += Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const kids = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // Gone already.
    }
  }
  return kb;
}

async function run(input: string, out: string): Promise<{ seconds: number; peakMb: number }> {
  const start = performance.now();
  // node with tsx's require hook, no npx or tsx wrapper process: the tree measured is the calibrate process itself.
  const child = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('tsx/cjs'),
      path.join(ROOT, 'src/cli/main.ts'),
      'calibrate',
      input,
      '--out',
      out,
      '--now',
      NOW.toISOString(),
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const timer = setInterval(() => {
    if (child.pid) peak = Math.max(peak, treePeakKb(child.pid));
  }, 250);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`calibrate exited ${code}: ${stderr}`);
  return { seconds: (performance.now() - start) / 1000, peakMb: peak / 1024 };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crosstalk-bench-calibrate-'));
  try {
    console.log(
      `cores ${os.availableParallelism()}; load average at start ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log('patients  seconds  patients/s  ratio to first  peak RSS MB  load (1 min)');
    let floor: number | undefined;
    for (const n of SIZES) {
      const input = path.join(tmp, `p${n}`);
      await writePopulation({ patients: n, seed: 1, now: NOW, out: input });
      const r = await run(input, path.join(tmp, `out${n}`));
      const rate = n / r.seconds;
      floor ??= rate;
      console.log(
        `${String(n).padStart(8)}  ${r.seconds.toFixed(1).padStart(7)}  ${rate.toFixed(0).padStart(10)}  ${(rate / floor).toFixed(2).padStart(14)}  ${r.peakMb.toFixed(0).padStart(11)}  ${os.loadavg()[0]?.toFixed(2).padStart(12)}`,
      );
      fs.rmSync(input, { recursive: true, force: true });
    }
    console.log('targets: 100,000 patients in < 120 s; peak RSS < 600 MB; ratios within 0.80–1.20 (linear)');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});
