import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isJmlError } from '../domain/errors.ts';
import { loadPolicy, policyHash, type PolicyProblem } from './policy-loader.ts';
import { policyJsonSchema } from './policy-schema.ts';
import { reviewDefinitionsDiff } from './review-diff.ts';

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'jml-review-policy-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

const base = `
systems:
  - name: ldap
    owner: OWN1
    connector: { type: ldap, settings: { url: "ldap://127.0.0.1:1389", base_dn: "dc=corp", bind_dn: "cn=admin,dc=corp", bind_password_env: X } }
entitlements:
  - { system: ldap, name: vpn }
  - { system: ldap, name: admins, privileged: true, owner: SEC1 }
`;

async function dir(name: string, reviews: string): Promise<string> {
  const d = join(root, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'policy.yaml'), base);
  await writeFile(join(d, 'reviews.yaml'), reviews);
  return d;
}

async function problems(d: string): Promise<PolicyProblem[]> {
  try {
    await loadPolicy(d);
  } catch (error) {
    if (isJmlError(error, 'invalid_input')) return error.details.problems as PolicyProblem[];
    throw error;
  }
  return [];
}

const twoStage = `reviews:
  - name: privileged-quarterly
    scope: { privileged: true }
    stages:
      - { reviewers: entitlement_owner, fallback: [SEC1] }
      - { name: security, reviewers: [SEC1, SEC2] }
    recurrence: { every_months: 3, from: 2027-01-01 }
    duration_days: 14
    reminders: { midpoint: true, days_before: [1, 3] }
    escalate_after_days: 10
    no_response: remove
    cap: { max_percent: 5 }
`;

test('a two-stage privileged review loads with its defaults filled in', async () => {
  const { policy } = await loadPolicy(await dir('ok', twoStage));
  const [review] = policy.reviews ?? [];
  assert.equal(review?.name, 'privileged-quarterly');
  assert.deepEqual(review?.stages.map((s) => [s.name, s.reviewers, s.fallback, s.advance]), [
    ['entitlement_owner', { type: 'entitlement_owner' }, ['SEC1'], 'kept'],
    ['security', { type: 'identities', keys: ['SEC1', 'SEC2'] }, [], 'kept'],
  ]);
  assert.deepEqual(review?.reminders, { midpoint: true, daysBefore: [3, 1] });
  assert.deepEqual(review?.cap, { maxPercent: 5, holdPrivileged: true });
  assert.deepEqual(review?.unusedDays, { standard: 90, privileged: 30 });
  assert.equal(review?.scope.privilegedOnly, true);
  assert.equal(policy.entitlements.find((e) => e.name === 'admins')?.owner, 'SEC1');
});

test('a policy without reviews keeps the hash it had before reviews existed', async () => {
  const d = join(root, 'plain');
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'policy.yaml'), base);
  const withReviews = await loadPolicy(await dir('hash', twoStage));
  const without = await loadPolicy(d);
  assert.equal(without.policy.reviews, undefined);
  assert.notEqual(without.hash, withReviews.hash, 'adding a review changes the hash');
  assert.equal(policyHash({ ...withReviews.policy, reviews: [] }), without.hash, 'no reviews (absent or empty) hash as before');
});

test('more than three stages, self after the first stage and unknown scope names are errors naming file, line and field', async () => {
  const found = await problems(await dir('bad', `reviews:
  - name: too-many
    stages: [manager, system_owner, entitlement_owner, owner]
  - name: late-self
    stages: [manager, self]
  - name: unknown
    scope: { systems: [crm], entitlements: ["ldap:nope"], role: ghost }
    stages: [manager]
`));
  const text = found.map((p) => `${p.file.split('/').pop()}:${p.line} ${p.path}: ${p.message}`);
  assert.ok(text.includes('reviews.yaml:3 reviews[0].stages: at most 3 stages'), text.join('\n'));
  assert.ok(text.includes('reviews.yaml:5 reviews[1].stages[1]: the person themself may review only as the first stage'), text.join('\n'));
  // Cross-reference checks run only once every file passes its schema, so fix the schema errors first.
  const refs = await problems(await dir('refs', `reviews:
  - name: unknown
    scope: { systems: [crm], entitlements: ["ldap:nope"], role: ghost }
    stages: [manager]
  - name: unknown
    stages: [manager]
`));
  assert.deepEqual(refs.map((p) => `${p.line} ${p.path}: ${p.message}`), [
    '3 reviews[0].scope.systems[0]: unknown system "crm"',
    '3 reviews[0].scope.entitlements[0]: unknown entitlement "ldap:nope"',
    '3 reviews[0].scope.role: unknown role "ghost"',
    '5 reviews[1].name: duplicate review "unknown" (first defined in ' + join(root, 'refs', 'reviews.yaml') + ')',
  ]);
});

test('a review that only asks people about their own access is refused', async () => {
  const found = await problems(await dir('self', 'reviews:\n  - { name: only-self, stages: [self] }\n'));
  assert.deepEqual(found.map((p) => p.message), ['a self-review needs a second stage: nobody has the last word on their own access']);
});

test('the JSON Schema for editors describes reviews', () => {
  const schema = policyJsonSchema() as { properties: Record<string, unknown> };
  assert.ok(schema.properties.reviews, 'reviews missing from the JSON Schema');
  assert.match(JSON.stringify(schema.properties.reviews), /no_response/);
});

test('policy diff names added, removed and changed review definitions with the fields that changed', async () => {
  const current = (await loadPolicy(await dir('diff-a', twoStage))).policy;
  const proposed = (await loadPolicy(await dir('diff-b', twoStage.replace('duration_days: 14', 'duration_days: 21').replace('no_response: remove', 'no_response: keep') + `  - name: managers\n    stages: [manager]\n`))).policy;
  assert.deepEqual(reviewDefinitionsDiff(current, proposed), [
    { name: 'managers', change: 'added', fields: [] },
    { name: 'privileged-quarterly', change: 'changed', fields: ['durationDays', 'noResponse'] },
  ]);
  assert.deepEqual(reviewDefinitionsDiff(proposed, { }), [
    { name: 'managers', change: 'removed', fields: [] },
    { name: 'privileged-quarterly', change: 'removed', fields: [] },
  ]);
});
