/**
 * CDS Hooks wire shapes defined once: each TypeBox schema here is both the TypeScript type (Static<>) and, through
 * `npm run derive` (src/build/derive.ts), the JSON schema under cds-hooks/schemas that validates what arrives.
 */
import { type Static, Type } from '@sinclair/typebox';

const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

export const CdsRequestSchema = Type.Object(
  {
    hook: Type.String({ minLength: 1, maxLength: 200 }),
    hookInstance: Type.String({ minLength: 1, maxLength: 128 }),
    fhirServer: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
    fhirAuthorization: Type.Optional(
      Type.Object({
        access_token: Type.String({ minLength: 1, maxLength: 16384 }),
        token_type: Type.Optional(Type.String({ pattern: '^[Bb][Ee][Aa][Rr][Ee][Rr]$' })),
        expires_in: Type.Optional(Type.Number()),
        scope: Type.Optional(Type.String()),
        subject: Type.Optional(Type.String()),
        patient: Type.Optional(Type.String()),
      }),
    ),
    context: AnyObject,
    prefetch: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: { type: ['object', 'null'] } }),
    ),
    extension: Type.Optional(AnyObject),
  },
  {
    $id: 'cds-request.schema.json',
    title: 'CDS Hooks service request (2.0), hook-independent part',
    description: 'Unknown members, and anything inside extension, are tolerated as the spec requires.',
    dependencies: { fhirAuthorization: ['fhirServer'] },
  },
);

export type CdsRequest = Static<typeof CdsRequestSchema>;
