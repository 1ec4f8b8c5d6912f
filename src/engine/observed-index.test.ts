import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Account, Grant } from '../domain/access.ts';
import type { Identity } from '../domain/identity.ts';
import { seededRandom } from '../connectors/chaos/chaos-connector.ts';
import { compilePolicy } from './compiled-policy.ts';
import { person, POLICY } from './engine-fixture.ts';
import { groupedByAccount, indexObserved, listedGrants, type AccountLink, type ObservedIndex, type ObservedSystem } from './observed-index.ts';
import { plan, type JmlAssigned, type PlanInput } from './plan.ts';

const NOW = '2026-06-15T09:00:00Z';
const DEPARTMENTS = ['Engineering', 'Finance', 'Sales'];
const TITLES = ['Engineer', 'Senior Engineer', 'Analyst'];

/**
 * A random organisation on the fixture's policy, with the untidy parts of real reads:
 * leavers, suspended and pending identities, a second account in a system, accounts
 * holding nothing, orphans (some linked by reconciliation), grants nobody's policy
 * gives, duplicate grants and grants naming an account the connector did not list.
 */
function randomPopulation(seed: number, size: number): PlanInput & { readonly links: readonly AccountLink[] } {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const identities: Identity[] = [];
  const observed = POLICY.systems.map((s) => ({ system: s.name, accounts: [] as Account[], grants: [] as Grant[] }));
  const links: AccountLink[] = [];
  const previouslyAssigned: JmlAssigned[] = [];
  for (let i = 0; i < size; i++) {
    const key = `E${String(i).padStart(4, '0')}`;
    const roll = random();
    const status = roll < 0.1 ? 'left' : roll < 0.15 ? 'suspended' : roll < 0.18 ? 'pending' : 'active';
    identities.push(person(key, {
      status, endDate: status === 'left' ? pick(['2026-01-01', '2026-06-10']) : null,
      attributes: { department: pick(DEPARTMENTS), title: pick(TITLES) },
    }));
    for (const [s, def] of POLICY.systems.entries()) {
      if (random() < 0.3) continue;
      const here = observed[s]!;
      const names = [...POLICY.entitlements.filter((e) => e.system === def.name).map((e) => e.name), 'granted-by-hand'];
      const count = random() < 0.05 ? 2 : 1;
      for (let n = 0; n < count; n++) {
        const accountId = `${def.name}-${key}-${n}`;
        const orphan = random() < 0.05;
        here.accounts.push({
          system: def.name, accountId, name: 'ada.lovelace', enabled: random() < 0.9,
          attributes: { [def.correlation.account]: orphan ? `X${key}` : key, mail: `${key.toLowerCase()}@example.com`, title: pick(TITLES) },
        });
        if (orphan && random() < 0.5) links.push({ system: def.name, accountId, identityKey: key });
        for (const entitlement of names) {
          if (random() < 0.5) here.grants.push({ system: def.name, accountId, entitlement });
          if (random() < 0.02) here.grants.push({ system: def.name, accountId, entitlement });
        }
        if (random() < 0.3) previouslyAssigned.push({ identityKey: key, system: def.name, entitlement: pick([null, ...names]) });
      }
      if (random() < 0.02) here.grants.push({ system: def.name, accountId: `${def.name}-unlisted-${key}`, entitlement: pick(names) });
    }
  }
  return { identities, policy: POLICY, assignments: [], observed, links, previouslyAssigned, credentials: [], now: NOW };
}

/** The same reads with each system's grants in a random order. */
function shuffled(observed: readonly ObservedSystem[], seed: number): ObservedSystem[] {
  const random = seededRandom(seed);
  return observed.map((o) => {
    const grants = [...listedGrants(o)];
    for (let i = grants.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [grants[i], grants[j]] = [grants[j]!, grants[i]!];
    }
    return { system: o.system, accounts: o.accounts, grants };
  });
}

const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
const indexText = (index: ObservedIndex) => [[...index.linked].map(([key, l]) => [key, l.accounts.map((a) => a.accountId), l.grants]), index.unlinked.accounts.map((a) => a.accountId), index.unlinked.grants];

describe('indexObserved', () => {
  test('each account holds the grants listed for it, in the order they were listed, whatever the order of the whole list', () => {
    const population = randomPopulation(7, 150);
    for (const observed of [population.observed, shuffled(population.observed, 1)]) {
      const index = indexObserved(observed, population.identities, population.links, compilePolicy(POLICY));
      const all = [...index.linked.values(), index.unlinked];
      assert.equal(all.reduce((n, l) => n + l.accounts.length, 0), observed.reduce((n, o) => n + o.accounts.length, 0), 'every account is indexed once');
      for (const linked of all) {
        for (const [i, account] of linked.accounts.entries()) {
          const listed = listedGrants(observed.find((o) => o.system === account.system)!).filter((g) => g.accountId === account.accountId).map((g) => g.entitlement);
          assert.deepEqual(linked.grants[i], listed, `${account.accountId}`);
        }
      }
    }
  });

  test('a grant naming an account the connector did not list belongs to no account', () => {
    const account: Account = { system: 'vpn', accountId: 'vpn-E1', name: 'ada', enabled: true, attributes: { externalId: 'E1' } };
    const observed: ObservedSystem[] = [{
      system: 'vpn', accounts: [account],
      grants: [{ system: 'vpn', accountId: 'vpn-GHOST', entitlement: 'standard' }, { system: 'vpn', accountId: 'vpn-E1', entitlement: 'guest' }],
    }];
    const index = indexObserved(observed, [person('E1')], [], compilePolicy(POLICY));
    assert.deepEqual(index.linked.get('E1'), { accounts: [account], grants: [['guest']] });
    assert.deepEqual(index.unlinked, { accounts: [], grants: [] });
  });

  test('accounts holding the same grants share one list, which nobody can change', () => {
    const account = (id: string): Account => ({ system: 'vpn', accountId: id, name: id, enabled: true, attributes: { externalId: id.slice(4) } });
    const grant = (accountId: string, entitlement: string) => ({ system: 'vpn', accountId, entitlement });
    const observed: ObservedSystem[] = [{
      system: 'vpn', accounts: [account('vpn-E1'), account('vpn-E2'), account('vpn-E3')],
      grants: [grant('vpn-E2', 'standard'), grant('vpn-E1', 'standard'), grant('vpn-E3', 'standard'), grant('vpn-E3', 'guest')],
    }];
    const index = indexObserved(observed, [person('E1'), person('E2'), person('E3')], [], compilePolicy(POLICY));
    const [e1, e2, e3] = ['E1', 'E2', 'E3'].map((key) => index.linked.get(key)!.grants[0]!);
    assert.equal(e1, e2);
    assert.deepEqual(e3, ['standard', 'guest']);
    assert.throws(() => (e1 as string[]).push('admin'), TypeError);
  });

  test('an account whose correlation value two identities share links neither, though listed in their order', () => {
    const policy = { ...POLICY, systems: POLICY.systems.map((s) => ({ ...s, correlation: { account: 'mail', identity: 'email' } })) };
    const account = (id: string, mail: string): Account => ({ system: 'vpn', accountId: id, name: id, enabled: true, attributes: { mail } });
    const identities = [person('E1', { attributes: { email: 'a@x' } }), person('E2', { attributes: { email: 'b@x' } }), person('E3', { attributes: { email: 'b@x' } })];
    const observed: ObservedSystem[] = [{ system: 'vpn', accounts: [account('vpn-1', 'a@x'), account('vpn-2', 'b@x')], grants: [] }];
    const index = indexObserved(observed, identities, [], compilePolicy(policy));
    assert.deepEqual([...index.linked.keys()], ['E1']);
    assert.deepEqual(index.unlinked.accounts.map((a) => a.accountId), ['vpn-2']);
  });

  // Computed with the index that paired grants by a merge walk or a map of account ids, before
  // grants were grouped by account number: the campaign and the planner must read the same as then.
  test('a fixed random population indexes exactly as it did before grants were grouped by account number', () => {
    const population = randomPopulation(11, 300);
    const text = (observed: readonly ObservedSystem[]) => digest(indexText(indexObserved(observed, population.identities, population.links, compilePolicy(POLICY))));
    assert.equal(text(population.observed), 'ee3b17335257aac0');
    assert.equal(text(shuffled(population.observed, 2)), 'bfc01e80129ae082');
  });
});

describe('plan over observed grants in any order', () => {
  test('the plan from shuffled grants equals the plan from grants in account order, for random populations', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const population = randomPopulation(seed, 120);
      const ordered = plan(population);
      assert.ok(ordered.changes.length > 0, 'the population has drift to plan');
      assert.deepEqual(plan({ ...population, observed: shuffled(population.observed, seed) }), ordered, `seed ${seed}`);
    }
  });

  // Computed with the planner before grants were grouped by account number: same changes, same ids, same fingerprint.
  test('a fixed random population plans byte for byte as it did before grants were grouped by account number', () => {
    const population = randomPopulation(11, 300);
    const p = plan(population);
    assert.equal(`${p.changes.length} ${p.fingerprint.slice(0, 16)} ${digest(p)}`, '1572 7159813d50b97d15 68910cc930937506');
  });

  test('grants given grouped by account, as the store reads them, plan byte for byte as the same grants listed one by one', () => {
    const population = randomPopulation(11, 300);
    const grouped = population.observed.map((o): ObservedSystem => ({ system: o.system, accounts: o.accounts, accountGrants: groupedByAccount(o.accounts, listedGrants(o)) }));
    const p = plan({ ...population, observed: grouped });
    assert.equal(`${p.changes.length} ${p.fingerprint.slice(0, 16)} ${digest(p)}`, '1572 7159813d50b97d15 68910cc930937506');
  });
});
