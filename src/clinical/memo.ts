/**
 * A pure text function with its answers remembered. Card text is built from a few hundred knowledge strings and
 * the same handful of finding sentences on every call, and each pass runs a dozen regular expressions over it:
 * remembering the answer makes the second call a map lookup. Bounded, so a stream of never-repeated inputs
 * (values that differ per patient) cannot grow it: when full it starts again.
 */
export function memoText(fn: (text: string) => string, max = 2048): (text: string) => string {
  return memo(fn, max);
}

/** The same for any answer computed from one string (a template cut into parts, say); an error is not remembered. */
export function memo<T>(fn: (key: string) => T, max = 2048): (key: string) => T {
  const seen = new Map<string, T>();
  return (key: string): T => {
    // One lookup on a hit: the keys are whole card sentences, built afresh on each call, so each probe compares them.
    const hit = seen.get(key);
    if (hit !== undefined || seen.has(key)) return hit as T;
    const out = fn(key);
    if (seen.size >= max) seen.clear();
    seen.set(key, out);
    return out;
  };
}

/** Text parts and slots joined, each slot filled by `fill`: a template that was cut once, filled per call. */
export function joinParts<P extends object>(parts: readonly (string | P)[], fill: (slot: P) => string): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : fill(part);
  return out;
}
