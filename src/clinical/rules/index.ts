import type { Rule } from './rule';
import { homaContextRule } from './homa-context';
import { lowCcrRule } from './low-ccr';
import { missingCcrInputRule } from './missing-ccr-input';

export type { Rule, RuleContext } from './rule';

/**
 * The rule set patient-view runs, in card order. Medication- and condition-based rules
 * (glucocorticoids, AI/ADT, secondary-osteoporosis conditions) slot in here with their own context.
 */
export const DEFAULT_RULES: readonly Rule[] = [lowCcrRule, missingCcrInputRule, homaContextRule];
