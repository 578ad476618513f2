import type { Rule } from './rule';
import { endocrineTherapyBoneRule } from './endocrine-therapy-bone';
import { glucocorticoidBoneRule } from './glucocorticoid-bone';
import { homaContextRule } from './homa-context';
import { lowCcrRule } from './low-ccr';
import { missingCcrInputRule } from './missing-ccr-input';
import { secondaryOsteoporosisRule } from './secondary-osteoporosis';
import { vitaminDContextRule } from './vitamin-d-context';

export type { Rule, RuleContext } from './rule';

/**
 * Every rule, in card order and in order of strength: a rule may supersede only rules after it (one patient, one
 * message). A service runs the subset its definition lists, in this order.
 */
export const DEFAULT_RULES: readonly Rule[] = [
  glucocorticoidBoneRule,
  endocrineTherapyBoneRule,
  secondaryOsteoporosisRule,
  lowCcrRule,
  missingCcrInputRule,
  homaContextRule,
  vitaminDContextRule,
];
