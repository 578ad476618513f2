/*
 * How the CLI writes: every write waits for the stream to take it (backpressure), and the process is never
 * ended with process.exit(), which drops whatever a pipe has not yet taken (only the first 64 KB reached
 * `| jq`). A reader that goes away (`| head -1`: EPIPE) ends the command quietly with a non-zero status.
 */
import type { Writable } from 'node:stream';

/** Raised when the reader of stdout has gone; the command stops writing and exits non-zero without a message. */
export class OutputClosed extends Error {
  constructor() {
    super('output closed by the reader');
  }
}

export interface Output {
  /** Resolves once the stream has taken the text; rejects with OutputClosed when the reader has gone. */
  write(text: string): Promise<void>;
}

export function streamOutput(stream: Writable): Output {
  let closed: OutputClosed | undefined;
  // An 'error' on stdout with no listener would be thrown as an uncaught exception, with a stack trace.
  stream.on('error', (e: NodeJS.ErrnoException) => {
    closed ??= new OutputClosed();
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') closed.message = `output: ${e.message}`;
  });
  return {
    write(text: string) {
      if (closed) return Promise.reject(closed);
      // The callback runs once the text is handed to the pipe or file, so awaiting it is the backpressure.
      return new Promise<void>((resolve, reject) => {
        stream.write(text, (err) => (err ? reject((closed ??= new OutputClosed())) : resolve()));
      });
    },
  };
}
