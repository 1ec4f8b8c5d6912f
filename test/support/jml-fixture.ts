/**
 * Small helpers shared by app, CLI and end-to-end tests: a policy directory
 * written from YAML text, and identities seeded straight into the store (for
 * tests that are not about the HR import).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Identity } from '../../src/domain/identity.ts';
import type { Database } from '../../src/store/database.ts';

/** Writes `files` (name → YAML text) into a new temporary directory and returns it. */
export function writePolicyDir(files: Readonly<Record<string, string>>, dir = mkdtempSync(join(tmpdir(), 'jml-policy-'))): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** An identity with sensible defaults. */
export function person(key: string, attributes: Record<string, string | null> = {}, extra: Partial<Identity> = {}): Identity {
  return {
    key, kind: 'employee', status: 'active', source: 'hr',
    attributes: { first_name: 'Ada', last_name: key, email: `${key.toLowerCase()}@example.test`, ...attributes },
    startDate: '2024-01-01', endDate: null, owner: null, sponsor: null, ...extra,
  };
}

/** Inserts or replaces identities. */
export async function seedIdentities(db: Kysely<Database>, identities: readonly Identity[]): Promise<void> {
  for (const i of identities) {
    const row = {
      kind: i.kind, status: i.status, source: i.source, attributes: JSON.stringify(i.attributes),
      start_date: i.startDate, end_date: i.endDate, owner: i.owner, sponsor: i.sponsor,
    };
    await db.insertInto('identities').values({ key: i.key, ...row }).onConflict((oc) => oc.column('key').doUpdateSet({ ...row, updated_at: new Date().toISOString() })).execute();
  }
}

/** A one-system policy over a fake connector, correlating on the identity key the fake records. */
export const FAKE_WIKI_POLICY: Readonly<Record<string, string>> = {
  'systems.yaml': `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff, eng, admins] } }
    owner: E0
    enforcement: full
    correlation: { account: identity_key, identity: key }
`,
  'entitlements.yaml': `entitlements:
  - { system: wiki, name: staff }
  - { system: wiki, name: eng }
  - { system: wiki, name: admins, privileged: true }
`,
  'rules.yaml': `rules:
  - name: everyone
    when: { kind: [employee] }
    grant: { entitlements: ["wiki:staff"] }
  - name: engineering
    when: { equals: { department: Engineering } }
    grant: { entitlements: ["wiki:eng"] }
`,
};
