import type { Migration } from '../engine';
import { initial } from './001-initial';
import { cardClient } from './002-card-client';
import { ruleMode } from './003-rule-mode';

/**
 * Every schema change, in order. Migrations are TypeScript modules rather than .sql files so that the
 * compiled service (dist/) carries them without a copy step. Append; never edit one that has shipped.
 */
export const MIGRATIONS: readonly Migration[] = [initial, cardClient, ruleMode];
