import { RULES } from './registry';
import type { Rule } from './rule';

export type { Rule, RuleContext } from './rule';

/** Every rule (src/clinical/rules/registry.ts, written by `npm run derive`). The engine orders them by precedence. */
export const DEFAULT_RULES: readonly Rule[] = RULES;
