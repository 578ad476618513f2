/**
 * A pure text function with its answers remembered. Card text is built from a few hundred knowledge strings and
 * the same handful of finding sentences on every call, and each pass runs a dozen regular expressions over it:
 * remembering the answer makes the second call a map lookup. Bounded, so a stream of never-repeated inputs
 * (values that differ per patient) cannot grow it: when full it starts again.
 */
export function memoText(fn: (text: string) => string, max = 2048): (text: string) => string {
  const seen = new Map<string, string>();
  return (text: string): string => {
    const hit = seen.get(text);
    if (hit !== undefined) return hit;
    const out = fn(text);
    if (seen.size >= max) seen.clear();
    seen.set(text, out);
    return out;
  };
}
