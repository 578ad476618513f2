/**
 * The `appContext` a finding card's SMART link carries, and that the EHR hands back to the app in the token
 * response. CDS Hooks leaves its format to the service: Crosstalk sends JSON naming the finding's rule.
 * No patient data goes in it: the EHR already knows the patient, and the string may end up in EHR logs.
 */
export interface CrosstalkAppContext {
  ruleId: string;
}

export function encodeAppContext(c: CrosstalkAppContext): string {
  return JSON.stringify({ ruleId: c.ruleId });
}

const RULE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Reads an appContext defensively: the EHR may drop it, pass it through escaped, or send something of its own.
 * A bare rule id is accepted too, since some EHRs only pass simple strings.
 */
export function parseAppContext(raw: unknown): CrosstalkAppContext | undefined {
  if (typeof raw !== 'string' || raw.length > 2048) return undefined;
  const text = raw.trim();
  if (RULE_ID.test(text)) return { ruleId: text };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'string') return parseAppContext(v);
    const ruleId = v && typeof v === 'object' ? (v as { ruleId?: unknown }).ruleId : undefined;
    return typeof ruleId === 'string' && RULE_ID.test(ruleId) ? { ruleId } : undefined;
  } catch {
    return undefined;
  }
}
