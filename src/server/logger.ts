import pino, { type Logger } from 'pino';

/*
 * Logs carry service ids, hookInstance, timings and counts: never tokens, bodies or patient data.
 * Redaction is a second line of defence for fields that must never appear even by mistake.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'fhirAuthorization',
  '*.fhirAuthorization',
  'access_token',
  '*.access_token',
  'prefetch',
  '*.prefetch',
  'context',
  '*.context',
  'patientId',
  '*.patientId',
  'body',
  '*.body',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'crosstalk' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Errors are logged by name and message only: stack traces stay out of the log.
      serializers: { err: (e: Error) => ({ type: e?.name, message: e?.message }) },
    },
    destination,
  );
}
