/*
 * How deep untrusted JSON nests, counted on its bytes before anything parses it. JSON.parse and every walk over
 * its result (validation, the record reader) recurse or allocate per level, so a few megabytes of `[[[[…` hold
 * the event loop for seconds; counting brackets outside strings costs one pass over bytes already in hand and
 * can stop a stream at the first byte past the limit. No Node built-ins: the browser can use it too.
 */

/**
 * The deepest nesting read, in CDS Hooks requests and FHIR answers alike. A Bundle of resources with contained
 * resources and nested extensions stays under 20 levels, a CDS request adds three; 100 leaves room for any
 * conformant document and refuses only the pathological (docs/hospital-it/limits.md).
 */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * A streaming depth counter: feed it the bytes of one JSON text in order, in chunks of any size. Brackets inside
 * strings (escapes included) do not count. UTF-8 needs no decoding here: every byte of a multi-byte character is
 * 0x80 or above, so none is mistaken for a quote, a backslash or a bracket.
 */
export class JsonDepthCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private deepest = 0;

  constructor(readonly maxDepth: number) {}

  /** The deepest nesting seen so far. */
  get maxSeen(): number {
    return this.deepest;
  }

  /** Counts `bytes`; false as soon as the nesting passes maxDepth (the rest of the chunk is not looked at). */
  feed(bytes: Uint8Array): boolean {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let deepest = this.deepest;
    const max = this.maxDepth;
    let ok = true;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        depth += 1;
        if (depth > deepest) deepest = depth;
        if (depth > max) {
          ok = false;
          break;
        }
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth -= 1;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.deepest = deepest;
    return ok;
  }
}

/** Whether a whole JSON text nests no deeper than `maxDepth`. */
export function withinDepth(bytes: Uint8Array, maxDepth: number): boolean {
  return new JsonDepthCounter(maxDepth).feed(bytes);
}
