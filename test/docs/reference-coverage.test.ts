/**
 * The reference pages keep up with the schemas: every field of the policy
 * JSON Schema is described in docs/policy.md, and every connector setting —
 * as policy files spell it — in docs/connectors.md. A field added to a schema
 * without a word in the docs fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ldapSettingsSchema } from '../../src/connectors/ldap/ldap-settings.ts';
import { manualSettingsSchema } from '../../src/connectors/manual/manual-connector.ts';
import { scimSettingsSchema } from '../../src/connectors/scim/scim-settings.ts';
import { simulatedSettingsSchema } from '../../src/connectors/simulated/simulated-connector.ts';
import { SECRET_FIELDS } from '../../src/app/connectors-from-policy.ts';
import { policyJsonSchema } from '../../src/policy/index.ts';

const docs = (name: string) => readFileSync(join(import.meta.dirname, '../../docs', name), 'utf8');

/** Every property name anywhere in a JSON Schema. */
function propertyNames(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) propertyNames(item, out);
  else if (schema && typeof schema === 'object') {
    const node = schema as Record<string, unknown>;
    if (node.properties && typeof node.properties === 'object') for (const key of Object.keys(node.properties)) out.add(key);
    for (const value of Object.values(node)) propertyNames(value, out);
  }
  return out;
}

/** Settings as policy files spell them: snake_case, nested ones (`disable`) included. */
function settingNames(schema: z.ZodType): Set<string> {
  return propertyNames(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), new Set());
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A name counts as described when the prose or a table names it in code: `name`, or `name: value`. A YAML example alone does not count. */
function undocumented(names: Iterable<string>, page: string): string[] {
  return [...names].filter((name) => !new RegExp(`\`${name}(\`|:)`).test(page)).sort();
}

describe('reference pages', () => {
  test('every field of the policy JSON Schema is described in docs/policy.md', () => {
    const names = propertyNames(policyJsonSchema());
    assert.ok(names.size > 40, 'the schema was walked');
    assert.deepEqual(undocumented(names, docs('policy.md')), []);
  });

  test('every connector setting of ldap, ad, scim, manual and simulated is described in docs/connectors.md', () => {
    const page = docs('connectors.md');
    // Set by jml, not by policy files: the system name, the LDAP flavour (from the type), secrets (from the store), the CA's PEM (read from ca_file).
    const internal = new Set(['system', 'flavour', 'bind_password', 'token', 'ca_pem', 'owner', 'entitlements', 'groups']);
    const secretsFromEnv = Object.values(SECRET_FIELDS).flat().map((f) => `${snake(f.setting)}_env`);
    const schemas: [string, z.ZodType][] = [['ldap/ad', ldapSettingsSchema], ['scim', scimSettingsSchema], ['manual', manualSettingsSchema], ['simulated', simulatedSettingsSchema]];
    const missing = schemas.flatMap(([type, schema]) =>
      undocumented([...settingNames(schema)].map(snake).filter((n) => !internal.has(n)), page).map((n) => `${type}: ${n}`));
    assert.deepEqual([...missing, ...undocumented(['ca_file', ...new Set(secretsFromEnv)], page)], []);
  });
});
