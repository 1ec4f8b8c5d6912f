import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asUrgentCall, isUrgentCall } from '../call-slots.ts';
import { createMemberBatcher } from './ldap-member-batch.ts';

const desk = 'cn=desk,ou=groups,dc=example,dc=org';
const yard = 'cn=yard,ou=groups,dc=example,dc=org';
const person = (i: number) => `uid=p${i},ou=people,dc=example,dc=org`;

/** A stand-in directory that records each call and refuses the members in `refused`. */
function recording(refused: ReadonlySet<string> = new Set()) {
  const calls: { readonly groupDn: string; readonly memberDns: readonly string[] }[] = [];
  const addTogether = async (groupDn: string, memberDns: readonly string[]): Promise<PromiseSettledResult<void>[]> => {
    calls.push({ groupDn, memberDns });
    return memberDns.map((dn) => (refused.has(dn) ? { status: 'rejected', reason: new Error(`refused ${dn}`) } : { status: 'fulfilled', value: undefined }));
  };
  return { calls, addTogether };
}

test('additions to one group asked for in the same turn go to the directory as one call per group', async () => {
  const directory = recording();
  const add = createMemberBatcher(directory.addTogether);
  await Promise.all([add(desk, person(1)), add(yard, person(2)), add(desk, person(3))]);
  assert.deepEqual(directory.calls, [
    { groupDn: desk, memberDns: [person(1), person(3)] },
    { groupDn: yard, memberDns: [person(2)] },
  ]);
});

test('additions asked for in a later turn go in a call of their own', async () => {
  const directory = recording();
  const add = createMemberBatcher(directory.addTogether);
  await add(desk, person(1));
  await add(desk, person(2));
  assert.deepEqual(directory.calls.map((c) => c.memberDns), [[person(1)], [person(2)]]);
});

test('each addition gets the answer the directory gave for its own member', async () => {
  const add = createMemberBatcher(recording(new Set([person(2)])).addTogether);
  const answers = await Promise.allSettled([add(desk, person(1)), add(desk, person(2)), add(desk, person(3))]);
  assert.deepEqual(answers.map((a) => (a.status === 'rejected' ? (a.reason as Error).message : a.status)), ['fulfilled', `refused ${person(2)}`, 'fulfilled']);
});

test('the same member asked for twice, spelled differently, is one value of the call and both asks are answered', async () => {
  const directory = recording();
  const add = createMemberBatcher(directory.addTogether);
  await Promise.all([add(desk, person(1)), add(desk, person(1).toUpperCase())]);
  assert.deepEqual(directory.calls, [{ groupDn: desk, memberDns: [person(1)] }]);
});

test('more than a hundred additions to one group go in calls of at most a hundred members', async () => {
  const directory = recording();
  const add = createMemberBatcher(directory.addTogether);
  await Promise.all(Array.from({ length: 250 }, (_, i) => add(desk, person(i))));
  assert.deepEqual(directory.calls.map((c) => c.memberDns.length), [100, 100, 50]);
});

test('a call that throws rejects every addition it carried, and later additions still go', async () => {
  let fail = true;
  const add = createMemberBatcher(async (_group, members) => {
    if (fail) throw new Error('connection lost');
    return members.map(() => ({ status: 'fulfilled', value: undefined }));
  });
  const answers = await Promise.allSettled([add(desk, person(1)), add(desk, person(2))]);
  assert.deepEqual(answers.map((a) => a.status), ['rejected', 'rejected']);
  fail = false;
  await add(desk, person(3));
});

test('a change asked for as urgent work goes in a call of its own, made as urgent work, beside the ordinary changes to the same group', async () => {
  const calls: { readonly memberDns: readonly string[]; readonly urgent: boolean }[] = [];
  const remove = createMemberBatcher(async (_group, memberDns) => {
    calls.push({ memberDns, urgent: isUrgentCall() });
    return memberDns.map(() => ({ status: 'fulfilled', value: undefined }));
  });
  await Promise.all([remove(desk, person(1)), asUrgentCall(() => remove(desk, person(2))), remove(desk, person(3)), asUrgentCall(() => remove(desk, person(4)))]);
  assert.deepEqual(calls, [
    { memberDns: [person(1), person(3)], urgent: false },
    { memberDns: [person(2), person(4)], urgent: true },
  ]);
});

test('ordinary changes asked for in the same turn after an urgent one are not made as urgent work', async () => {
  const calls: { readonly memberDns: readonly string[]; readonly urgent: boolean }[] = [];
  const remove = createMemberBatcher(async (_group, memberDns) => {
    calls.push({ memberDns, urgent: isUrgentCall() });
    return memberDns.map(() => ({ status: 'fulfilled', value: undefined }));
  });
  await Promise.all([asUrgentCall(() => remove(desk, person(1))), remove(yard, person(2))]);
  assert.deepEqual(calls, [
    { memberDns: [person(1)], urgent: true },
    { memberDns: [person(2)], urgent: false },
  ]);
});
