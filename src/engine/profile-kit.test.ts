import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Identity } from '../domain/identity.ts';
import type { ProfileDef } from '../domain/policy.ts';
import type { HeldAsset } from './identity-changes.ts';
import { compileCondition } from './condition.ts';
import { kitChanges, profileOf, profileRules } from './profile-kit.ts';

const PROFILES: readonly ProfileDef[] = [
  { name: 'engineer', description: '', when: { equals: { department: 'engineering' } }, kit: [{ kind: 'laptop', model: 'developer-32gb' }, { kind: 'security_key', model: null }], roles: ['developer'] },
  { name: 'sales', description: '', when: { equals: { department: 'sales' } }, kit: [{ kind: 'laptop', model: 'standard' }, { kind: 'phone', model: null }], roles: ['crm-user'] },
  { name: 'everyone', description: '', when: { kind: ['employee'] }, kit: [{ kind: 'laptop', model: null }], roles: ['staff'] },
];

function identity(key: string, department: string, extra: Partial<Identity> = {}): Identity {
  return { key, kind: 'employee', status: 'active', source: 'hr', attributes: { department }, startDate: '2026-01-05', endDate: null, owner: null, sponsor: null, ...extra };
}
const asset = (tag: string, kind: string, model?: string): HeldAsset => ({ tag, holderKey: 'x', kind, ...(model ? { model } : {}) });
const summary = (changes: ReturnType<typeof kitChanges>) => changes.map((c) => (c.kind === 'collect_asset' ? `return ${c.assetTag}` : `issue ${c.attributes?.kind}${c.attributes?.model ? `/${c.attributes.model}` : ''} by ${c.attributes?.due}`));

describe('profiles and kits', () => {
  const cases: { name: string; who: Identity; held: HeldAsset[]; today: string; expect: string[] }[] = [
    { name: 'a joiner gets one allocation task per kit item, due the day before the start date', who: identity('J1', 'engineering', { status: 'pending', startDate: '2026-04-01' }), held: [], today: '2026-03-10', expect: ['issue laptop/developer-32gb by 2026-03-31', 'issue security_key by 2026-03-31'] },
    { name: 'a joiner who already holds a kit item is only asked for the rest', who: identity('J2', 'engineering', { status: 'pending', startDate: '2026-04-01' }), held: [asset('KEY-1', 'security_key')], today: '2026-03-10', expect: ['issue laptop/developer-32gb by 2026-03-31'] },
    { name: 'a joiner recorded the day before they start is due today, not in the past', who: identity('J3', 'sales', { status: 'pending', startDate: '2026-03-10' }), held: [], today: '2026-03-10', expect: ['issue laptop/standard by 2026-03-10', 'issue phone by 2026-03-10'] },
    { name: 'a mover from engineering to sales returns the developer laptop and security key and is issued the sales kit', who: identity('M1', 'sales'), held: [asset('LAP-9', 'laptop', 'developer-32gb'), asset('KEY-9', 'security_key'), asset('MON-1', 'monitor')], today: '2026-03-10', expect: ['issue laptop/standard by 2026-03-10', 'issue phone by 2026-03-10', 'return KEY-9', 'return LAP-9'] },
    { name: 'someone holding exactly their kit gets no change', who: identity('K1', 'engineering'), held: [asset('LAP-1', 'laptop', 'developer-32gb'), asset('KEY-1', 'security_key')], today: '2026-03-10', expect: [] },
    { name: 'a kit item without a model is met by any model of that category', who: identity('E1', 'finance'), held: [asset('LAP-2', 'laptop', 'standard')], today: '2026-03-10', expect: [] },
    { name: 'a leaver gets no kit change here: their returns come from the leaver order', who: identity('L1', 'engineering', { status: 'left', endDate: '2026-03-09' }), held: [asset('LAP-3', 'laptop')], today: '2026-03-10', expect: [] },
    { name: 'an identity no profile matches keeps what it holds', who: { ...identity('S1', 'eng'), kind: 'service_account' }, held: [asset('LAP-4', 'laptop')], today: '2026-03-10', expect: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(summary(kitChanges({ identity: c.who, profiles: PROFILES, assets: c.held, today: c.today })), c.expect);
    });
  }

  test('kit change ids are stable, and a return has the same id as the leaver collection of that asset would', () => {
    const who = identity('M1', 'sales');
    const first = kitChanges({ identity: who, profiles: PROFILES, assets: [asset('LAP-9', 'laptop', 'developer-32gb')], today: '2026-03-10' });
    const again = kitChanges({ identity: who, profiles: PROFILES, assets: [asset('LAP-9', 'laptop', 'developer-32gb')], today: '2026-03-11' });
    assert.deepEqual(first.map((c) => c.id), again.map((c) => c.id));
  });

  test('the first matching profile wins, for the kit and for the birthright roles alike', () => {
    const engineer = identity('E2', 'engineering');
    assert.equal(profileOf(PROFILES, engineer, '2026-03-10')?.name, 'engineer');
    const rules = profileRules(PROFILES);
    assert.deepEqual(rules.map((r) => r.name), ['profile.engineer', 'profile.sales', 'profile.everyone']);
    const matching = rules.filter((r) => compileCondition(r.when)(engineer, { today: '2026-03-10' })).map((r) => r.grant.roles.join());
    assert.deepEqual(matching, ['developer'], 'an engineer is not also given the catch-all profile\'s roles');
  });
});
