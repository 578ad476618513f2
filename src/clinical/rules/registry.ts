// Written by `npm run derive` from the rule files in this folder (each exports `knowledge` and `rule`); do not edit.

import * as endocrineTherapyBone from './endocrine-therapy-bone';
import * as glucocorticoidBone from './glucocorticoid-bone';
import * as homaContext from './homa-context';
import * as lowCcr from './low-ccr';
import * as missingCcrInput from './missing-ccr-input';
import type { Rule } from './rule';
import * as secondaryOsteoporosis from './secondary-osteoporosis';
import * as sexBasisContext from './sex-basis-context';
import * as vitaminDContext from './vitamin-d-context';

/** Each rule's data shape, by rule id: rules.<id> in the knowledge file. */
export const RULE_KNOWLEDGE = {
  'endocrine-therapy-bone': endocrineTherapyBone.knowledge,
  'glucocorticoid-bone': glucocorticoidBone.knowledge,
  'homa-context': homaContext.knowledge,
  'low-ccr': lowCcr.knowledge,
  'missing-ccr-input': missingCcrInput.knowledge,
  'secondary-osteoporosis': secondaryOsteoporosis.knowledge,
  'sex-basis-context': sexBasisContext.knowledge,
  'vitamin-d-context': vitaminDContext.knowledge,
};

/** Every rule; the engine runs them in the order of their precedence in the knowledge data. */
export const RULES: readonly Rule[] = [
  endocrineTherapyBone.rule,
  glucocorticoidBone.rule,
  homaContext.rule,
  lowCcr.rule,
  missingCcrInput.rule,
  secondaryOsteoporosis.rule,
  sexBasisContext.rule,
  vitaminDContext.rule,
];
