import type { RejectedObservation } from './types';

/**
 * Whether a result reported only as a bound settles a threshold test: true when every value the bound allows
 * passes, false when none does, undefined when it cannot tell (or there is no bound, e.g. an unknown unit).
 * The tests change only at their cut points, so checking the ends of the range and each side of every cut inside
 * it is exact.
 */
export function decides(
  r: Partial<RejectedObservation>,
  test: (v: number) => boolean,
  cuts: number[],
): boolean | undefined {
  const b = r.bound;
  if (!b) return undefined;
  const upward = b.comparator.startsWith('>');
  const inclusive = b.comparator.length === 2;
  const inRange = (v: number) =>
    v >= 0 && (upward ? (inclusive ? v >= b.value : v > b.value) : inclusive ? v <= b.value : v < b.value);
  const eps = 1e-9 * Math.max(1, Math.abs(b.value));
  const points = [
    b.value,
    b.value + eps,
    b.value - eps,
    upward ? Number.MAX_SAFE_INTEGER : 0,
    ...cuts.flatMap((c) => [c - eps, c, c + eps]),
  ];
  const results = new Set(points.filter(inRange).map(test));
  return results.size === 1 ? [...results][0] : undefined;
}
