import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isJmlError } from '../domain/errors.ts';
import { loadPolicy, type PolicyProblem } from './policy-loader.ts';
import { scaffoldPolicy } from './policy-scaffold.ts';
import { policyJsonSchema } from './policy-schema.ts';
import { normaliseSettings } from '../app/connectors-from-policy.ts';
import { parseLdapSettings } from '../connectors/ldap/ldap-settings.ts';

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'jml-policy-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

async function policyDir(name: string, files: Readonly<Record<string, string>>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

async function problems(dir: string): Promise<PolicyProblem[]> {
  try {
    await loadPolicy(dir);
  } catch (error) {
    assert.ok(isJmlError(error, 'invalid_input'));
    return error.details.problems as PolicyProblem[];
  }
  assert.fail('the policy loaded');
}

const BASE = `systems:
  - name: github
    owner: E1
    connector: { type: scim }
entitlements:
  - { system: github, name: developers }
`;

describe('loadPolicy', () => {
  test('the scaffolded policy loads, and its hash ignores file layout, order and comments', async () => {
    const scaffold = scaffoldPolicy();
    const loaded = await loadPolicy(await policyDir('scaffold', scaffold));
    assert.equal(loaded.policy.systems.length, 4);
    assert.ok(loaded.policy.rules.length >= 4);
    assert.deepEqual(loaded.files.map((f) => f.path), ['approvals.yaml', 'entitlements.yaml', 'roles.yaml', 'rules.yaml', 'systems.yaml']);

    const yaml = Object.entries(scaffold).filter(([name]) => name.endsWith('.yaml'));
    const merged = yaml.reverse().map(([, text]) => text.replace(/^#.*$/gm, '')).join('\n');
    const single = await loadPolicy(await policyDir('single', { 'nested/all.yml': merged.replace(/^(systems|entitlements|roles|rules|approvals):/gm, '\n$1:') }));
    assert.equal(single.hash, loaded.hash);
    assert.match(loaded.hash, /^[0-9a-f]{64}$/);
  });

  test('the scaffolded directory system has every setting the ldap connector needs', async () => {
    const loaded = await loadPolicy(await policyDir('scaffold-ldap', scaffoldPolicy()));
    const directory = loaded.policy.systems.find((s) => s.connector.type === 'ldap');
    assert.ok(directory);
    const { bindPasswordEnv: _env, ...settings } = normaliseSettings(directory.connector.settings);
    const parsed = parseLdapSettings({ ...settings, system: directory.name, flavour: 'openldap', bindPassword: 'from the secret store' });
    assert.equal(parsed.usersOu, 'ou=people,dc=example,dc=com');
    assert.equal(parsed.groupsOu, 'ou=groups,dc=example,dc=com');
  });

  test('an unknown role is reported with file, line and path', async () => {
    const dir = await policyDir('unknown-role', {
      'base.yaml': BASE,
      'roles.yaml': `roles:
  - name: developer
    inducements:
      - entitlement: github:developers
      - role: dev-ops
`,
    });
    const [problem, ...rest] = await problems(dir);
    assert.deepEqual(rest, []);
    assert.deepEqual(problem, { file: join(dir, 'roles.yaml'), line: 5, path: 'roles[0].inducements[1].role', message: 'unknown role "dev-ops"' });
  });

  test('profiles load in file order with their kit; an unknown role or an empty profile is reported with file, line and path', async () => {
    const good = await policyDir('profiles-good', {
      'base.yaml': BASE,
      'profiles.yaml': `roles:
  - name: developer
profiles:
  - name: engineer
    when: { equals: { department: engineering } }
    kit: [{ kind: laptop, model: developer-32gb }, security_key]
    roles: [developer]
  - name: everyone
    when: { kind: [employee] }
    kit: [laptop]
`,
    });
    const { policy } = await loadPolicy(good);
    assert.deepEqual(policy.profiles?.map((p) => [p.name, p.kit.map((k) => `${k.kind}:${k.model ?? '*'}`)]), [['engineer', ['laptop:developer-32gb', 'security_key:*']], ['everyone', ['laptop:*']]]);
    const unknownRole = await policyDir('profiles-unknown-role', {
      'base.yaml': BASE,
      'profiles.yaml': `profiles:
  - name: sales
    when: { equals: { department: sales } }
    roles: [crm-user]
`,
    });
    assert.deepEqual((await problems(unknownRole)).map((p) => `${p.line} ${p.path}: ${p.message}`), ['4 profiles[0].roles[0]: unknown role "crm-user"']);
    const empty = await policyDir('profiles-empty', { 'base.yaml': BASE, 'profiles.yaml': 'profiles:\n  - name: empty\n    when: { equals: { department: none } }\n' });
    assert.deepEqual((await problems(empty)).map((p) => `${p.line} ${p.path}: ${p.message}`), ['2 profiles[0]: give a kit, roles, or both']);
  });

  test('every problem in every file is reported at once', async () => {
    const dir = await policyDir('many', {
      'base.yaml': BASE,
      'broken.yaml': 'roles:\n  - name: [unclosed\n',
      'rules.yaml': `rules:
  - name: engineers
    when: { equal: { department: Engineering } }
    grant: { entitlements: ["github:admins"] }
  - name: engineers
    when: { within_days: { end_date: soon } }
    grant: { roles: [developer] }
`,
      'systems.yaml': `systems:
  - name: vpn
    owner: E1
    connector: { type: scim }
    enforcement: strict
    account: { name: "{first_name|capitalise}" }
`,
    });
    const found = (await problems(dir)).map((p) => `${p.file.slice(dir.length + 1)}:${p.line} ${p.path}: ${p.message}`);
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found[0]!, /^broken\.yaml:\d+ : Flow sequence/);
    assert.ok(found.includes('rules.yaml:3 rules[0].when: found "equal"; expected exactly one of: equals, in, kind, exists, matches, before, after, within_days, not, all, any'), found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('rules.yaml:6 rules[1].when.within_days.end_date: ')), found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('systems.yaml:5 systems[0].enforcement: ')), found.join('\n'));
    // Cross-reference checks run once every file parses; this one is caught by the schema first.
    assert.ok(!found.some((p) => p.includes('github:admins')));
  });

  test('a scim system on plain http is a problem naming file and line unless it sets allow_insecure_http', async () => {
    const system = (name: string, extra: string) => `  - name: ${name}
    owner: E1
    connector:
      type: scim
      settings: { base_url: "http://127.0.0.1:8080/scim/v2"${extra} }
`;
    const dir = await policyDir('scim-http', { 'systems.yaml': `systems:\n${system('plain', '')}${system('tolerated', ', allow_insecure_http: true')}  - name: secure\n    owner: E1\n    connector: { type: scim, settings: { base_url: "https://scim.example.test/v2" } }\n` });
    const found = (await problems(dir)).map((p) => `${p.file.slice(dir.length + 1)}:${p.line} ${p.path}: ${p.message}`);
    assert.deepEqual(found, ['systems.yaml:6 systems[0].connector.settings.base_url: http://127.0.0.1:8080/scim/v2 is plain http: the bearer token would travel in clear; use https, or set allow_insecure_http: true for a test system']);
  });

  test('a system\'s credential maximum age loads per system and per kind; an unknown kind or a zero age is a problem naming file, line and path', async () => {
    const system = (credentials: string) => `systems:\n  - name: erp\n    owner: E1\n    connector: { type: scim, settings: { base_url: "https://erp.example.test/scim" } }\n    credentials:\n${credentials}`;
    const good = await policyDir('credential-age', { 'systems.yaml': system('      max_age_days: 60\n      max_age_days_by_kind: { api_key: 30, certificate: 365 }\n') });
    const { policy } = await loadPolicy(good);
    assert.deepEqual(policy.systems[0]!.credentials, { onDisable: 'keep', onEnable: 'keep', maxAgeDays: 60, maxAgeDaysByKind: { api_key: 30, certificate: 365 } });
    const bad = await policyDir('credential-age-bad', { 'systems.yaml': system('      max_age_days: 0\n      max_age_days_by_kind: { passkey: 30 }\n') });
    const found = (await problems(bad)).map((p) => `${p.line} ${p.path}`).sort();
    assert.deepEqual(found, ['6 systems[0].credentials.max_age_days', '7 systems[0].credentials.max_age_days_by_kind.passkey']);
  });

  test('cross-reference problems name unknown entitlements, duplicates and bad templates', async () => {
    const dir = await policyDir('refs', {
      'base.yaml': BASE,
      'more.yaml': `systems:
  - name: github
    owner: E2
    connector: { type: scim }
    account: { name: "{first_name|capitalise}" }
rules:
  - name: all
    when: { kind: [employee] }
    grant: { entitlements: ["github:admins", "jira:users"] }
`,
    });
    const found = (await problems(dir)).map((p) => `${p.line} ${p.path}: ${p.message}`);
    assert.deepEqual(found, [
      `2 systems[0].name: duplicate system "github" (first defined in ${join(dir, 'base.yaml')})`,
      '5 systems[0].account.name: unknown filter "capitalise" (known: lower, upper, trim, ascii, slug)',
      '9 rules[0].grant.entitlements[0]: unknown entitlement "admins" in system "github"',
      '9 rules[0].grant.entitlements[1]: unknown system "jira"',
    ]);
  });

  test('an entitlement template loads with its group settings, and rules refer to it by its template name', async () => {
    const dir = await policyDir('template-ok', {
      'base.yaml': BASE,
      'groups.yaml': `entitlements:
  - system: github
    name: dept-{department|slug}
    display_name: Department {department}
    description: Members of {department}
    create_missing: true
    remove_empty: true
rules:
  - name: department-group
    when: { exists: department }
    grant: { entitlements: ["github:dept-{department|slug}"] }
`,
    });
    const { policy } = await loadPolicy(dir);
    const template = policy.entitlements.find((e) => e.name === 'dept-{department|slug}');
    assert.deepEqual(template?.template, { createMissing: true, removeEmpty: true, description: 'Members of {department}' });
    assert.equal(policy.entitlements.find((e) => e.name === 'developers')?.template, undefined, 'a plain entitlement has no template settings');
  });

  test('a bad entitlement template is reported with file, line and the unknown filter or broken placeholder', async () => {
    const dir = await policyDir('template-bad', {
      'base.yaml': BASE,
      'groups.yaml': `entitlements:
  - system: github
    name: dept-{department|slugify}
    create_missing: true
  - system: github
    name: team-{}-{team
  - system: github
    name: plain
    create_missing: true
`,
    });
    const found = (await problems(dir)).map((p) => `${p.file.endsWith('groups.yaml') ? 'groups.yaml' : p.file}:${p.line} ${p.path}: ${p.message}`);
    assert.deepEqual(found, [
      'groups.yaml:9 entitlements[2].create_missing: "create_missing" applies only to an entitlement template (a name with {field|filter})',
    ]);
    const fixed = await policyDir('template-bad-2', {
      'base.yaml': BASE,
      'groups.yaml': `entitlements:
  - system: github
    name: dept-{department|slugify}
    create_missing: true
  - system: github
    name: team-{}-{team
`,
    });
    assert.deepEqual((await problems(fixed)).map((p) => `${p.line} ${p.path}: ${p.message}`), [
      '3 entitlements[0].name: entitlement template: unknown filter "slugify" (known: lower, upper, trim, ascii, slug)',
      '6 entitlements[1].name: entitlement template: unbalanced "{" or "}" in "team-{}-{team"',
      '6 entitlements[1].name: entitlement template: empty placeholder "{}"',
    ]);
  });

  test('a role inducement cycle is rejected, naming the cycle', async () => {
    const dir = await policyDir('cycle', {
      'roles.yaml': `roles:
  - name: a
    inducements: [{ role: b }]
  - name: b
    inducements: [{ role: c }]
  - name: c
    inducements:
      - role: a
`,
    });
    const [problem, ...rest] = await problems(dir);
    assert.deepEqual(rest, []);
    assert.equal(problem?.message, 'role inducement cycle: a → b → c → a');
    assert.equal(problem?.line, 8);
  });

  test('SoD rules load with their two sides, severity, owner and mitigations', async () => {
    const dir = await policyDir('sod', {
      'base.yaml': BASE + `  - { system: github, name: admins }
sod:
  - name: dev-admin
    conflict:
      - entitlements: [github:developers]
      - patterns: ["github:admin*"]
    severity: critical
    owner: E9
    mitigations: [weekly-log-review]
`,
    });
    const { policy } = await loadPolicy(dir);
    assert.deepEqual(policy.sod, [{
      name: 'dev-admin', description: '', severity: 'critical', owner: 'E9', mitigations: ['weekly-log-review'], maxMitigationDays: 90,
      sides: [
        { entitlements: [{ system: 'github', entitlement: 'developers' }], roles: [], patterns: [] },
        { entitlements: [], roles: [], patterns: [{ system: 'github', pattern: 'admin*' }] },
      ],
    }]);
  });

  test('an SoD rule naming an unknown entitlement or role is reported with its line', async () => {
    const dir = await policyDir('sod-unknown', {
      'base.yaml': BASE,
      'sod.yaml': `sod:
  - name: dev-admin
    owner: E9
    conflict:
      - entitlements: [github:developers]
      - roles: [nobody]
        entitlements: [github:root]
`,
    });
    const found = await problems(dir);
    assert.deepEqual(found.map((p) => `${p.line} ${p.path}: ${p.message}`).sort(), [
      '6 sod[0].conflict[1].roles[0]: unknown role "nobody"',
      '7 sod[0].conflict[1].entitlements[0]: unknown entitlement "root" in system "github"',
    ]);
  });

  test('an SoD rule with only one side is refused', async () => {
    const dir = await policyDir('sod-one-side', {
      'base.yaml': BASE,
      'sod.yaml': `sod:
  - name: dev-admin
    owner: E9
    conflict:
      - entitlements: [github:developers]
`,
    });
    const [problem] = await problems(dir);
    assert.equal(problem?.file, join(dir, 'sod.yaml'));
    assert.match(problem!.path, /^sod\[0\]\.conflict/);
  });

  test('an empty or missing directory is an error, not an empty policy', async () => {
    assert.match((await problems(await policyDir('empty', {})))[0]!.message, /no policy files/);
    await assert.rejects(loadPolicy(join(root, 'absent')), (e) => isJmlError(e, 'invalid_input'));
  });
});

test('the JSON Schema describes the eight collections and the condition language', () => {
  const schema = policyJsonSchema();
  const text = JSON.stringify(schema);
  assert.deepEqual(Object.keys(schema.properties as object).sort(), ['approvals', 'entitlements', 'profiles', 'reviews', 'roles', 'rules', 'sod', 'systems']);
  assert.ok(text.includes('"conflict"'));
  for (const op of ['within_days', 'matches', 'all', 'any', 'not']) assert.ok(text.includes(`"${op}"`), op);
});
