import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { Response } from 'express';
import type { Logger } from 'pino';
import type { CallRecord } from '../cds/call';
import type { Card } from '../cds/types';
import { ConfigError } from '../config/knowledge-file';
import type { AuditCall } from '../store/types';
import type { AppConfig } from './config';
import type { Operations } from './operations';

/**
 * The audit key. Outside demo mode it must be configured: a key generated at start would make the
 * same patient hash differently after every restart, and a key kept beside the database would let
 * whoever copies the database test candidate patient ids against the hashes.
 */
export function resolveAuditKey(config: AppConfig, log: Logger): Buffer {
  if (config.auditHmacKey) return Buffer.from(config.auditHmacKey, 'utf8');
  if (!config.devMode) {
    throw new ConfigError(
      'invalid configuration: CROSSTALK_AUDIT_HMAC_KEY is required outside development mode (at least 32 characters, e.g. `openssl rand -hex 32`)',
    );
  }
  log.warn(
    'CROSSTALK_AUDIT_HMAC_KEY is not set: development mode hashes patients in the audit with a random per-process key, so hashes do not match across restarts',
  );
  return randomBytes(32);
}

/** The patient as the audit knows it: HMAC-SHA256 of the FHIR reference under the audit key. */
export function patientHash(key: Buffer, patientId: string): string {
  return createHmac('sha256', secretKeyOf(key)).update(`Patient/${patientId}`).digest('hex');
}

// createHmac imports a Buffer key afresh on every call, several times the cost of the hash itself.
const secretKeys = new WeakMap<Buffer, KeyObject>();
function secretKeyOf(key: Buffer): KeyObject {
  let k = secretKeys.get(key);
  if (!k) {
    k = createSecretKey(key);
    secretKeys.set(key, k);
  }
  return k;
}

/**
 * The authenticated CDS client's issuer, from what client authentication leaves in `res.locals`
 * (`caller.client.iss`, or `client.iss`); absent while calls are not authenticated.
 */
export function clientIss(res: Response): string | undefined {
  const locals = res.locals as { caller?: { client?: { iss?: unknown } }; client?: { iss?: unknown } };
  const iss = locals.caller?.client?.iss ?? locals.client?.iss;
  return typeof iss === 'string' && iss ? iss.slice(0, 512) : undefined;
}

export interface CallFacts {
  callId: string;
  calledAt: Date;
  serviceId: string;
  /** The request body as received: only hookInstance and context.patientId are read from it. */
  body: unknown;
  clientIss?: string;
  /** The authenticated client's tenant, when its token named one. */
  clientTenant?: string;
  status: number;
  latencyMs: number;
  record?: CallRecord;
  cards?: Card[];
}

/** What the audit keeps of a call: which rules did what and why (reason codes), the measures, the cards. */
export function auditRecord(f: CallFacts, key: Buffer): AuditCall {
  const body = (f.body && typeof f.body === 'object' ? f.body : {}) as {
    hookInstance?: unknown;
    context?: { patientId?: unknown };
  };
  const hookInstance =
    typeof body.hookInstance === 'string' && body.hookInstance ? body.hookInstance.slice(0, 128) : undefined;
  const patientId =
    typeof body.context?.patientId === 'string' && body.context.patientId ? body.context.patientId : undefined;
  const ev = f.record?.evaluation;
  return {
    callId: f.callId,
    calledAt: f.calledAt,
    serviceId: f.serviceId,
    ...(hookInstance ? { hookInstance } : {}),
    ...(f.clientIss ? { clientIss: f.clientIss } : {}),
    ...(patientId ? { patientHash: patientHash(key, patientId) } : {}),
    status: f.status,
    latencyMs: f.latencyMs,
    dataSources: f.record?.gathered.sources ?? {},
    partialKeys: f.record?.gathered.partial ?? [],
    // Every rule of the service, withheld ones with the outcome they would have shown; only non-active modes are named.
    rules: (f.record?.rules ?? []).map((o) => ({
      ruleId: o.ruleId,
      status: o.status,
      reasonCodes: o.reasons.map((r) => r.code),
      ...(o.delivery !== 'active' ? { mode: o.delivery } : {}),
    })),
    measures: (ev?.measures ?? []).map((m) => ({ code: m.code, value: m.value, unit: m.unit })),
    cards: (f.cards ?? []).map((c) => ({
      cardUuid: c.uuid,
      callId: f.callId,
      serviceId: f.serviceId,
      ruleId: c.extension.crosstalk.ruleId,
      indicator: c.indicator,
      ...(hookInstance ? { hookInstance } : {}),
      issuedAt: f.calledAt,
      suggestionUuids: (c.suggestions ?? []).map((s) => s.uuid),
      ...(f.clientIss ? { clientIss: f.clientIss } : {}),
      ...(f.clientTenant ? { clientTenant: f.clientTenant } : {}),
    })),
  };
}

/** Writes audit records; a failure is logged (without its details, which may quote SQL values) and counted. */
export class Auditor {
  constructor(
    private readonly ops: Operations,
    private readonly logger: Logger,
  ) {}

  async write(f: CallFacts): Promise<boolean> {
    try {
      await this.ops.store.recordCall(auditRecord(f, this.ops.auditKey));
      // Counted only once on record, with the status recorded: the metric and the audit trail agree call for call.
      this.ops.metrics.cdsCalls.inc({ service: f.serviceId, status: String(f.status) });
      return true;
    } catch (e) {
      this.ops.metrics.auditFailures.inc();
      this.logger.error(
        {
          event: 'audit-write-failed',
          serviceId: f.serviceId,
          callId: f.callId,
          err: { name: (e as Error)?.name, code: (e as { code?: unknown })?.code },
        },
        'audit record not written',
      );
      return false;
    }
  }
}
