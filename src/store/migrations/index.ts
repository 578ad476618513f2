import type { Migration } from 'kysely/migration';
import { initial } from './001-initial';
import { cardClient } from './002-card-client';
import { ruleMode } from './003-rule-mode';
import { feedbackReasons } from './004-feedback-reasons';

/**
 * Every schema change, by the name Kysely's Migrator records it under; names sort in the order they apply.
 * Append; never edit one that has shipped.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001-initial': initial,
  '002-card-client': cardClient,
  '003-rule-mode': ruleMode,
  '004-feedback-reasons': feedbackReasons,
};
