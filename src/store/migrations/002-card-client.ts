import type { Migration } from '../engine';

/*
 * Which client a card was issued to (issuer and tenant), so feedback is taken only from that client. Cards
 * issued before this migration, or in development mode, have neither: feedback on them is taken only from a
 * caller without one.
 */
export const cardClient: Migration = {
  version: 2,
  name: 'issued cards remember the client (issuer, tenant) they were issued to',
  sql: `
ALTER TABLE issued_cards ADD COLUMN client_iss TEXT;
ALTER TABLE issued_cards ADD COLUMN client_tenant TEXT;
`,
};
