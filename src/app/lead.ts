/** Which finding the app shows first. Pure: the app's page and its tests both read it. */
import type { Finding, Knowledge } from '../clinical';

/** Card indicators, strongest first (CDS Hooks: critical, warning, info). */
const INDICATOR_RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/**
 * Findings strongest first: by the card's indicator (critical, warning, info), then by the rules' precedence in the
 * knowledge data; the finding an appContext names, when there is one, leads.
 */
export function leadOrder(findings: Finding[], k: Knowledge, lead?: string): Finding[] {
  const precedence = (id: string) =>
    (k.rules as Record<string, { precedence?: number } | undefined>)[id]?.precedence ?? Number.MAX_SAFE_INTEGER;
  return [...findings].sort(
    (a, b) =>
      Number(b.ruleId === lead) - Number(a.ruleId === lead) ||
      (INDICATOR_RANK[a.indicator] ?? 9) - (INDICATOR_RANK[b.indicator] ?? 9) ||
      precedence(a.ruleId) - precedence(b.ruleId),
  );
}
