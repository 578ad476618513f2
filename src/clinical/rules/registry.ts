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

/** What each rule's code reads (src/build/rule-reads.ts): the inputs its source attributes list. */
export const RULE_READS = {
  'endocrine-therapy-bone': {
    domains: [
      'medications',
      'conditions',
      'bone-density',
      'bone-density-orders',
      'osteoporosis-therapy',
      'palliative-care',
    ],
    analytes: [],
    measures: ['prednisone-equivalent-dose', 'glucocorticoid-exposure'],
    patient: ['sex'],
  },
  'glucocorticoid-bone': {
    domains: [
      'medications',
      'conditions',
      'bone-density',
      'bone-density-orders',
      'osteoporosis-therapy',
      'palliative-care',
    ],
    analytes: [],
    measures: ['prednisone-equivalent-dose', 'glucocorticoid-exposure'],
    patient: ['birthDate'],
  },
  'homa-context': {
    domains: ['medications', 'conditions'],
    analytes: [],
    measures: ['homa-ir', 'homa-beta'],
    patient: ['birthDate'],
  },
  'low-ccr': {
    domains: [
      'ccr-labs',
      'medications',
      'conditions',
      'bone-density',
      'bone-density-orders',
      'osteoporosis-therapy',
      'crp',
      'bmi',
      'palliative-care',
      'thyroid-labs',
      'pregnancy-tests',
    ],
    analytes: ['creatinine', 'cystatin-c', 'crp', 'bmi'],
    measures: [
      'sarcopenia-index',
      'ccr',
      'egfr-cr-2021',
      'egfr-cr-cys-2021',
      'egfr-cys-2012',
      'prednisone-equivalent-dose',
      'glucocorticoid-exposure',
    ],
    patient: ['sex', 'birthDate'],
  },
  'missing-ccr-input': {
    domains: [
      'ccr-labs',
      'medications',
      'conditions',
      'bone-density',
      'bone-density-orders',
      'osteoporosis-therapy',
      'crp',
      'bmi',
      'palliative-care',
      'thyroid-labs',
      'pregnancy-tests',
    ],
    analytes: ['creatinine', 'cystatin-c', 'crp', 'bmi'],
    measures: [
      'sarcopenia-index',
      'ccr',
      'egfr-cr-2021',
      'egfr-cr-cys-2021',
      'egfr-cys-2012',
      'prednisone-equivalent-dose',
      'glucocorticoid-exposure',
    ],
    patient: ['sex', 'birthDate'],
  },
  'secondary-osteoporosis': {
    domains: [
      'medications',
      'conditions',
      'bone-density',
      'bone-density-orders',
      'osteoporosis-therapy',
      'palliative-care',
    ],
    analytes: [],
    measures: ['prednisone-equivalent-dose', 'glucocorticoid-exposure'],
    patient: ['birthDate'],
  },
  'sex-basis-context': {
    domains: [],
    analytes: [],
    measures: [],
    patient: ['sex'],
  },
  'vitamin-d-context': {
    domains: ['vitamin-d'],
    analytes: ['vitamin-d'],
    measures: [],
    patient: [],
  },
} as const;

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
