/**
 * Percentiles and their bootstrap confidence interval from a fixed-bin histogram. Fixed bins are what make shards
 * mergeable: adding counts bin by bin gives exactly the histogram one run over all patients would have built, so
 * every number computed from it below is the same too.
 */

/** CCR bins of 0.001 from 0 to 3 (the knowledge schema's ceiling for a threshold); one overflow bin above. */
export const BIN_WIDTH = 0.001;
export const BIN_COUNT = 3000;

export function binOf(value: number): number {
  if (!(value >= 0)) return 0;
  return Math.min(BIN_COUNT, Math.floor(value / BIN_WIDTH + 1e-9));
}

/** The upper edge of a bin, rounded to the bin width so that 0.7320000001 prints as 0.732. */
export function upperEdge(bin: number): number {
  return Number(((bin + 1) * BIN_WIDTH).toFixed(3));
}

export type Histogram = Record<string, number>;

export function addTo(h: Histogram, bin: number, n = 1): void {
  h[bin] = (h[bin] ?? 0) + n;
}

export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  const out: Histogram = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function total(h: Histogram): number {
  let n = 0;
  for (const v of Object.values(h)) n += v;
  return n;
}

/** Cumulative counts in bin order: [bin, count at or below it]. */
function cumulative(h: Histogram): [number, number][] {
  const bins = Object.keys(h)
    .map(Number)
    .sort((x, y) => x - y);
  let c = 0;
  return bins.map((b) => [b, (c += h[b] ?? 0)]);
}

/** Patients whose value lies below `cut` (the rule fires on ccr < cut): whole bins below the cut's bin. */
export function countBelow(h: Histogram, cut: number): number {
  const limit = binOf(cut);
  let n = 0;
  for (const [k, v] of Object.entries(h)) if (Number(k) < limit) n += v;
  return n;
}

/**
 * The p-th percentile (0 < p < 100) as the upper edge of the bin holding the m-th smallest value, m = ⌈p·n/100⌉:
 * a threshold "below" it then takes that bin whole, so the rule fires for about p % of the population.
 */
export function percentile(h: Histogram, p: number): number | undefined {
  const n = total(h);
  if (n === 0) return undefined;
  const m = Math.max(1, Math.ceil((p / 100) * n));
  for (const [bin, c] of cumulative(h)) if (c >= m) return upperEdge(bin);
  return undefined;
}

/**
 * Percentile bootstrap interval, computed exactly instead of by resampling: in a resample of n values drawn from the
 * histogram, the m-th smallest lies at or below bin k exactly when at least m draws fall at or below k, which has
 * probability P(Binomial(n, F_k) ≥ m) = I_{F_k}(m, n − m + 1) (regularised incomplete beta). The interval is read
 * off that distribution at (1 − level)/2 and (1 + level)/2: the limit of the usual bootstrap as resamples → ∞, with
 * no random seed to make two runs (or a sharded run) disagree.
 */
export function bootstrapInterval(h: Histogram, p: number, level = 0.95): [number, number] | undefined {
  const n = total(h);
  if (n === 0) return undefined;
  const m = Math.max(1, Math.ceil((p / 100) * n));
  const cum = cumulative(h);
  const probAtOrBelow = (i: number): number => {
    const f = (cum[i] as [number, number])[1] / n;
    return f >= 1 ? 1 : regularizedBeta(f, m, n - m + 1);
  };
  const find = (target: number): number => {
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (probAtOrBelow(mid) >= target) hi = mid;
      else lo = mid + 1;
    }
    return upperEdge((cum[lo] as [number, number])[0]);
  };
  return [find((1 - level) / 2), find((1 + level) / 2)];
}

/** ln Γ(x), Lanczos approximation (g = 7, n = 9), accurate to about 15 digits for x > 0. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-12) break;
  }
  return f;
}

/** I_x(a, b), the regularised incomplete beta function. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

/** Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const lowP = 0.02425;
  if (p < lowP) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - lowP) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}
