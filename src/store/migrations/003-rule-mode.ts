import type { Migration } from '../engine';

/*
 * How each rule's card was delivered in a call (active, silent, pilot-in, pilot-out), so the governance report can
 * tell cards shown from cards a silent or pilot rule would have shown. Calls recorded before were all active.
 */
export const ruleMode: Migration = {
  version: 3,
  name: 'rule outcomes record the rule mode (active, silent, pilot-in, pilot-out)',
  sql: `
ALTER TABLE rule_outcomes ADD COLUMN mode TEXT NOT NULL DEFAULT 'active';
`,
};
