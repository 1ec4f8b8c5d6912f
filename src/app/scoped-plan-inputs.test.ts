import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Identity } from '../domain/identity.ts';
import { plan as enginePlan } from '../engine/index.ts';
import type { Store } from '../store/open-store.ts';
import { person, seedIdentities, writePolicyDir } from '../../test/support/jml-fixture.ts';
import { testBackends } from '../../test/support/backends.ts';
import { createPlanner } from './compute-plan.ts';

const NOW = new Date('2026-03-02T09:00:00Z');

// wiki correlates on the identity key, crm on the email (which two people may share).
const POLICY = writePolicyDir({
  'systems.yaml': `systems:
  - name: wiki
    connector: { type: fake, settings: { groups: [staff, eng, admins] } }
    owner: P000
    enforcement: full
    correlation: { account: identity_key, identity: key }
  - name: crm
    connector: { type: fake, settings: { groups: [users, sales] } }
    owner: P001
    enforcement: full
    correlation: { account: mail, identity: email }
`,
  'entitlements.yaml': `entitlements:
  - { system: wiki, name: staff }
  - { system: wiki, name: eng }
  - { system: wiki, name: admins, privileged: true }
  - { system: crm, name: users }
  - { system: crm, name: sales }
`,
  'rules.yaml': `rules:
  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["wiki:staff", "crm:users"] } }
  - { name: engineering, when: { equals: { department: Engineering } }, grant: { entitlements: ["wiki:eng"] } }
  - { name: sales, when: { equals: { department: Sales } }, grant: { entitlements: ["crm:sales"] } }
`,
});

/** A small deterministic generator (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * People (some left, some with a manager, some sharing an email), service
 * accounts they own, credentials, request assignments, and a reconciled
 * snapshot of both systems with linked, correlating, mislinked and orphan
 * accounts holding random groups.
 */
async function seedPopulation(store: Store, seed: number, size: number): Promise<readonly string[]> {
  const rand = random(seed);
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const key = (i: number) => `P${String(i).padStart(3, '0')}`;
  const people: Identity[] = [];
  for (let i = 0; i < size; i++) {
    const left = rand() < 0.25;
    const shared = rand() < 0.1 ? 'shared@example.test' : `${key(i).toLowerCase()}@example.test`;
    const manager = rand() < 0.6 ? key(Math.floor(rand() * size)) : rand() < 0.5 ? 'NOBODY' : null;
    people.push(person(key(i), { department: pick(['Engineering', 'Sales', 'Finance']), email: shared, manager }, left ? { status: 'left', endDate: '2026-02-27' } : {}));
  }
  for (let i = 0; i < size / 5; i++) {
    const owner = key(Math.floor(rand() * size));
    people.push(person(`S${i}`, { email: null }, { kind: 'service_account', owner, ...(rand() < 0.3 ? { sponsor: key(Math.floor(rand() * size)) } : {}) }));
  }
  await seedIdentities(store.db, people);
  const keys = people.map((p) => p.key);
  for (let i = 0; i < size / 4; i++) {
    const holder = pick(keys);
    await store.db.insertInto('credentials').values({ id: `cred-${i}`, identity_key: holder, system: pick(['wiki', 'crm']), kind: 'api_key', name: `key ${i}`, created_at: '2025-01-01T00:00:00Z', last_rotated_at: rand() < 0.5 ? '2026-03-01T00:00:00Z' : null, expires_at: null, status: 'active' }).execute();
  }
  for (let i = 0; i < size / 6; i++) {
    await store.db.insertInto('assignments').values({ id: `asg-${i}`, identity_key: pick(keys), system: 'wiki', entitlement: 'admins', reason_type: 'request', reason: JSON.stringify({ type: 'request', requestId: `r${i}`, roleChain: [] }), created_by: 'test' }).execute();
  }
  for (const system of ['wiki', 'crm'] as const) {
    const runId = `run-${system}`;
    await store.db.insertInto('reconcile_runs').values({ id: runId, system, status: 'completed', phase: 'done', actor: 'test', started_at: NOW.toISOString(), updated_at: NOW.toISOString(), finished_at: NOW.toISOString() }).execute();
    const groups = system === 'wiki' ? ['staff', 'eng', 'admins'] : ['users', 'sales'];
    for (const g of groups) await store.db.insertInto('observed_entitlements').values({ run_id: runId, system, entitlement: g, display_name: g, type: 'group' }).execute();
    for (let i = 0; i < people.length + 10; i++) {
      const owner = i < people.length ? people[i]! : null;
      if (owner && rand() < 0.2) continue; // no account yet: a joiner's create
      const shape = rand();
      // linked to its owner; or correlating only; or linked to someone else while correlating to its owner; or an orphan.
      const linkedTo = !owner ? null : shape < 0.6 ? owner.key : shape < 0.7 ? pick(keys) : null;
      const correlates = owner ? (system === 'wiki' ? owner.key : (owner.attributes.email ?? 'none')) : `ghost${i}`;
      const attributes = system === 'wiki' ? { identity_key: correlates } : { mail: rand() < 0.5 ? [correlates] : correlates };
      const accountId = `${system}-${i}`;
      await store.db.insertInto('observed_accounts').values({
        run_id: runId, system, account_id: accountId, name: `acct${i}`, enabled: rand() < 0.8, attributes: JSON.stringify(attributes), last_login_at: null,
        identity_key: linkedTo ?? (rand() < 0.1 ? 'GONE' : null), situation: linkedTo ? 'linked' : rand() < 0.5 ? 'unmatched' : null,
      }).execute();
      for (const g of groups) if (rand() < 0.4) await store.db.insertInto('observed_grants').values({ run_id: runId, system, account_id: accountId, entitlement: g }).execute();
    }
  }
  return keys;
}

for (const backend of testBackends()) {
  describe(`a plan scoped to identities (${backend.name})`, () => {
    test('loading only what the scoped identities read gives exactly the changes a full plan has for them, on random populations', { timeout: 120_000 }, async () => {
      for (const seed of [1, 2, 3]) {
        const store = await backend.open();
        try {
          const keys = await seedPopulation(store, seed, 60);
          const planner = createPlanner({ db: store.db, config: { policy_dir: POLICY, timezone: 'UTC' }, actor: 'test', now: () => NOW });
          const everyone = await planner.loadInput();
          const rand = random(seed * 7919);
          for (let round = 0; round < 4; round++) {
            const scope = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 6) }, () => keys[Math.floor(rand() * keys.length)]!))].sort();
            const full = enginePlan({ ...everyone.input, scope: { identityKeys: scope } });
            const scoped = await planner.compute({ identityKeys: scope });
            const wanted = full.changes.map((c) => JSON.stringify(c));
            assert.deepEqual(scoped.plan.changes.map((c) => JSON.stringify(c)), wanted, `seed ${seed}, scope ${scope.join(',')}`);
            assert.ok(scoped.input.identities.length < everyone.input.identities.length, 'fewer identities were read');
          }
          const leaverChanges = enginePlan({ ...everyone.input }).changes.filter((c) => c.kind === 'disable_account' || c.kind === 'transfer_ownership' || c.kind === 'rotate_credential');
          assert.ok(leaverChanges.length > 0, `seed ${seed}: the population has leavers with work to do`);
        } finally {
          await store.close();
        }
      }
    });

    test('a replan for one leaver reads that leaver’s accounts, not the others', async () => {
      const store = await backend.open();
      try {
        await seedPopulation(store, 4, 40);
        const planner = createPlanner({ db: store.db, config: { policy_dir: POLICY, timezone: 'UTC' }, actor: 'test', now: () => NOW });
        const { input } = await planner.loadInput({ identityKeys: ['P003'] });
        const everyone = await planner.loadInput();
        const accounts = (i: typeof input) => i.observed.reduce((n, o) => n + o.accounts.length, 0);
        assert.ok(accounts(input) <= 6, `${accounts(input)} accounts read for one person`);
        assert.ok(accounts(everyone.input) > 60);
      } finally {
        await store.close();
      }
    });
  });
}
