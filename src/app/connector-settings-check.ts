/**
 * Connector settings checked without opening anything: what `jml policy check`
 * can say about a system before a command connects to it. The same schemas
 * the connectors validate with, the same rules about secrets as opening a
 * system from policy (connectors-from-policy.ts); no secret, file or network
 * is read, so a policy checks the same on a laptop, in CI and on the server.
 */
import { z } from 'zod';
import type { SystemDef } from '../domain/policy.ts';
import { parseLdapSettings } from '../connectors/ldap/ldap-settings.ts';
import { manualSettingsSchema } from '../connectors/manual/manual-connector.ts';
import { settingsIssues, type SettingsIssue } from '../connectors/registry.ts';
import { scimSettingsSchema } from '../connectors/scim/scim-settings.ts';
import { simulatedSettingsSchema } from '../connectors/simulated/simulated-connector.ts';
import { normaliseSettings, SECRET_FIELDS } from './connectors-from-policy.ts';

/** Stands in for a secret that comes from the store or the environment when the system is opened. */
const ABSENT_SECRET = 'checked-when-the-system-is-opened';

const VALIDATORS: Readonly<Record<string, (settings: Record<string, unknown>, system: string) => unknown>> = {
  ldap: (settings, system) => parseLdapSettings({ flavour: 'openldap', ...settings, system }),
  ad: (settings, system) => parseLdapSettings({ ...settings, flavour: 'ad', system }),
  scim: (settings) => scimSettingsSchema.parse(settings),
  manual: (settings) => manualSettingsSchema.parse(settings),
  simulated: (settings) => simulatedSettingsSchema.parse(settings),
};

/**
 * Problems with a system's connector settings, each naming the system and the
 * setting; empty when they are complete, and for types checked only when
 * opened (fake, chaos, types registered by other code).
 * @example connectorSettingsProblems(directory) // ['system directory: ldap connector settings: users_ou: Invalid input: …']
 */
export function connectorSettingsProblems(system: SystemDef): string[] {
  return connectorSettingsIssues(system).map((i) => settingsIssueMessage(system, i));
}

/** One issue as a line naming the system, connector type and setting. */
export function settingsIssueMessage(system: SystemDef, issue: SettingsIssue & { readonly secret?: true }): string {
  return issue.secret ? issue.message : `system ${system.name}: ${system.connector.type} connector settings: ${issue.setting || '(settings)'}: ${issue.message}`;
}

/**
 * The same problems, each with the setting it is about (as policy files spell
 * it), so `jml policy check` can point at the line of the YAML.
 */
export function connectorSettingsIssues(system: SystemDef): (SettingsIssue & { readonly secret?: true })[] {
  const { type } = system.connector;
  const validate = VALIDATORS[type];
  if (!validate) return [];
  const settings = normaliseSettings(system.connector.settings);
  const issues: (SettingsIssue & { readonly secret?: true })[] = [];
  for (const spec of SECRET_FIELDS[type] ?? []) {
    if (settings[spec.setting] !== undefined) {
      issues.push({ setting: spec.field, secret: true, message: `system ${system.name}: a ${spec.field} does not belong in policy files; store it with: jml secret set ${system.name} ${spec.field}` });
    }
    delete settings[`${spec.setting}Env`];
    settings[spec.setting] = ABSENT_SECRET;
  }
  // The CA file is read where the system is opened, which need not be where policy is checked (CI).
  delete settings.caFile;
  try {
    validate(settings, system.name);
  } catch (error) {
    if (!(error instanceof z.ZodError)) throw error;
    issues.push(...settingsIssues(error));
  }
  return issues;
}
