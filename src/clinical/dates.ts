/** One day in milliseconds: every duration in days is counted with it. */
export const DAY_MS = 86_400_000;

/**
 * The one day boundary for exposure: UTC midnight. Medication days are whole calendar days from the day a course
 * began, and a record's days taken end at the start of today, so the same call made twice in one day counts the
 * same days and no card shows a fraction of a day (docs/fhir-reading.md, Medications).
 */
export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Completed years between a FHIR birthDate and an instant: the age on the day of the specimen. */
export function ageOn(birthDate: string | undefined, atIso: string): number | undefined {
  if (!birthDate) return undefined;
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate);
  if (!m) return undefined;
  const by = Number(m[1]);
  // A partial birthDate (year or year-month) is taken at its latest possible day: never overstate age.
  const bm = m[2] ? Number(m[2]) : 12;
  const bd = m[3] ? Number(m[3]) : m[2] ? daysInMonth(by, bm) : 31;
  // The calendar day as written where the specimen was taken (a FHIR dateTime carries the lab's own date, with or
  // without an offset): never the server's time zone, never the UTC day of an offset time.
  const a = /^(\d{4})-(\d{2})-(\d{2})/.exec(atIso);
  if (!a || parseFhirInstant(atIso) === undefined) return undefined;
  const y = Number(a[1]);
  const mo = Number(a[2]);
  const d = Number(a[3]);
  let age = y - by;
  if (mo < bm || (mo === bm && d < bd)) age -= 1;
  return age;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function subtractMonths(at: Date, months: number): Date {
  const d = new Date(at.getTime());
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/** FHIR dateTime without a time zone is local to the lab; treat it as UTC so ordering stays stable. */
export function parseFhirInstant(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const withZone = /T.*([Zz]|[+-]\d{2}:\d{2})$/.test(s) || !s.includes('T') ? s : `${s}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : ms;
}
