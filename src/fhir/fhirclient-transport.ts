/**
 * The record reader's transport in the browser (src/cds/record-reader.ts): one GET through fhirclient's
 * request(), which adds the launch's access token (and refreshes it when it can). One page per GET: the reader
 * follows the `next` links itself, under the same page limit and base check as on the server.
 */
import type Client from 'fhirclient/lib/Client';
import HttpError from 'fhirclient/lib/HttpError';
import type { Transport } from '../cds/record-reader';
import { FhirError, type FhirFailure } from './bundle';

/** fhirclient's rejections, by type: an HTTP status, fetch's TypeError (no answer), an abort; anything else is no FHIR. */
export function fhirclientFailure(e: unknown): FhirFailure {
  if (e instanceof FhirError) return e.failure;
  if (e instanceof HttpError) return { kind: 'http', status: e.status };
  if (e instanceof TypeError) return { kind: 'network' };
  if ((e as { name?: unknown } | null)?.name === 'AbortError') return { kind: 'timeout' };
  return { kind: 'invalid-response' };
}

export function fhirclientTransport(client: Client): Transport {
  return {
    base: client.state.serverUrl,
    get: (url, o) =>
      client
        .request<unknown>(o?.prefer ? { url: url.href, headers: { Prefer: o.prefer } } : url.href)
        .catch((e: unknown) => {
          throw new FhirError(fhirclientFailure(e));
        }),
  };
}
