import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { connectorSettingsProblems } from '../app/connector-settings-check.ts';
import { loadPolicy } from './policy-loader.ts';
import { scaffoldPolicy } from './policy-scaffold.ts';

async function writeScaffold(files: Readonly<Record<string, string>>): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'jml-scaffold-')), 'policy');
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** systems.yaml with the commented Active Directory example switched on, as its comment tells the reader to. */
function withAdExample(systems: string): string {
  return systems.replace(/^ {2}# (- name: corp-ad[\s\S]*?)\n\n/m, (block) => block.replace(/^ {2}# /gm, '  '));
}

describe('the policy jml init writes', () => {
  test('every system in the scaffold has complete connector settings', async () => {
    const { policy } = await loadPolicy(await writeScaffold(scaffoldPolicy()));
    assert.deepEqual(policy.systems.map((s) => s.connector.type).sort(), ['ldap', 'manual', 'scim', 'scim']);
    assert.deepEqual(policy.systems.flatMap(connectorSettingsProblems), []);
  });

  test('the commented Active Directory example, once uncommented, loads and has complete ad settings', async () => {
    const files = scaffoldPolicy();
    const systems = withAdExample(files['systems.yaml']!);
    assert.notEqual(systems, files['systems.yaml'], 'the AD example is in the scaffold');
    const { policy } = await loadPolicy(await writeScaffold({ ...files, 'systems.yaml': systems }));
    const ad = policy.systems.find((s) => s.name === 'corp-ad');
    assert.equal(ad?.connector.type, 'ad');
    assert.deepEqual(connectorSettingsProblems(ad!), []);
  });

  test('a scaffold system without users_ou is reported by name', async () => {
    const files = scaffoldPolicy();
    const { policy } = await loadPolicy(await writeScaffold({ ...files, 'systems.yaml': files['systems.yaml']!.replace(/^ +users_ou: .*\n/m, '') }));
    assert.match(policy.systems.flatMap(connectorSettingsProblems).join('\n'), /system directory: ldap connector settings: users_ou: /);
  });
});
