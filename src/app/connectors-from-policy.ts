/**
 * Each policy system's connector, built through the registry. Settings may be
 * written in snake_case (YAML style) or camelCase. Secrets never come from
 * policy files: a bind password or bearer token is read from the encrypted
 * secret store, bound to the host the settings name now (a moved URL clears
 * it), or — for development — from an environment variable the settings name
 * (`bind_password_env`, `token_env`). A plain secret in policy is refused.
 */
import { readFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { JmlError, isJmlError } from '../domain/errors.ts';
import type { Policy, SystemDef } from '../domain/policy.ts';
import type { Connector } from '../connectors/connector.ts';
import { createTaskFallback, type TaskFallback } from '../connectors/manual/task-fallback.ts';
import { createConnectorRegistry, type ConnectorRegistry } from '../connectors/registry.ts';
import { getSecret, keyringFromEnv, Secret, type Keyring } from '../connectors/secrets/index.ts';
import { camelCaseKeys } from '../connectors/settings-keys.ts';
import type { Database } from '../store/database.ts';
import { attributeMappingFor, withAttributeMapping } from './connector-attribute-adapter.ts';
import { createInitialCredentials, withInitialCredentials, type InitialCredentials } from './initial-credentials.ts';
import { createInternalChanges, internalChangeSettings, type InternalChangeSettings, type InternalChanges } from './internal-changes.ts';

/** A secret a connector type needs: the secret-store field, the setting it fills, the setting naming its host. */
export interface SecretField {
  readonly field: string;
  readonly setting: string;
  readonly hostSetting: string;
}

export const SECRET_FIELDS: Readonly<Record<string, readonly SecretField[]>> = {
  ldap: [{ field: 'bind_password', setting: 'bindPassword', hostSetting: 'url' }],
  ad: [{ field: 'bind_password', setting: 'bindPassword', hostSetting: 'url' }],
  scim: [{ field: 'token', setting: 'token', hostSetting: 'baseUrl' }],
};

export interface PolicyConnectorsDeps {
  readonly db: Kysely<Database>;
  readonly policy: Policy;
  readonly registry?: ConnectorRegistry;
  /** The master keyring; read from the environment when first needed. */
  readonly keyring?: () => Keyring;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => Date;
  readonly actor?: string;
  /** Who carries jml-internal tasks (asset collection, system-less tasks); defaults from the policy. */
  readonly internal?: Partial<InternalChangeSettings>;
  /** The organisation's time zone (effective dates of ownership transfers). */
  readonly timezone?: string;
}

export interface PolicyConnectors {
  /** The connector of a system opened here; undefined for systems not opened. */
  get(system: string): Connector | undefined;
  /**
   * Tasks for the system's owner, for the change kinds its connector does not
   * provision (apply's `tasksFor`); undefined for systems not opened.
   */
  tasksFor(system: string): TaskFallback | undefined;
  /** Apply's `connectorFor`: a system's connector, or for `null` the handler of jml-internal changes. */
  connectorFor(system: string | null): Connector | undefined;
  /** Ownership transfers, asset collection and system-less tasks (see internal-changes.ts). */
  readonly internal: InternalChanges;
  /** Passwords jml set on accounts it created or re-enabled, until delivered (see initial-credentials.ts). */
  readonly initialCredentials: InitialCredentials;
  /** True for a policy system left out of the systems asked for: another process may have its connector. */
  notOpened(system: string): boolean;
  close(): Promise<void>;
}

/** snake_case keys to camelCase, top level only (nested settings such as `disable` are the connector's). */
export function normaliseSettings(settings: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return camelCaseKeys(settings);
}

/** The host a system's secret is bound to, from its settings; null when the type keeps no secrets. */
export function secretHost(system: SystemDef, field: string): string {
  const spec = (SECRET_FIELDS[system.connector.type] ?? []).find((f) => f.field === field);
  if (!spec) {
    const known = (SECRET_FIELDS[system.connector.type] ?? []).map((f) => f.field);
    throw new JmlError('invalid_input', `system ${system.name} (${system.connector.type}) keeps ${known.length ? `only ${known.join(', ')}` : 'no secrets'}, not ${field}`, { details: { system: system.name, field } });
  }
  const host = normaliseSettings(system.connector.settings)[spec.hostSetting];
  if (typeof host !== 'string' || host === '') throw new JmlError('invalid_input', `system ${system.name}: settings need ${spec.hostSetting} to bind the ${field} to`, { details: { system: system.name } });
  return host;
}

/**
 * Opens the connectors of `systems` (every policy system by default).
 * @example
 * const connectors = await openPolicyConnectors({ db: store.db, policy }, ['directory']);
 * try { await connectors.get('directory')!.validate(); } finally { await connectors.close(); }
 */
export async function openPolicyConnectors(deps: PolicyConnectorsDeps, systems?: readonly string[]): Promise<PolicyConnectors> {
  const registry = deps.registry ?? createConnectorRegistry();
  const env = deps.env ?? process.env;
  let keyring: Keyring | null = null;
  const ring = () => (keyring ??= (deps.keyring ?? (() => keyringFromEnv(env)))());
  const opened = new Map<string, Connector>();
  const initialCredentials = createInitialCredentials({
    db: deps.db, keyring: ring, systemOwner: (system) => deps.policy.systems.find((s) => s.name === system)?.owner ?? null,
    ...(deps.now ? { now: deps.now } : {}), ...(deps.actor ? { actor: deps.actor } : {}),
  });
  const close = async () => {
    for (const connector of opened.values()) await connector.close?.().catch(() => undefined);
  };
  try {
    for (const def of deps.policy.systems) {
      if (systems && !systems.includes(def.name)) continue;
      const settings = await settingsFor(deps, def, ring, env);
      const connector = await registry.create({ type: def.connector.type, settings }, { system: def.name, db: deps.db, ...(deps.now ? { now: deps.now } : {}) });
      opened.set(def.name, withInitialCredentials(withAttributeMapping(connector, attributeMappingFor(def.connector.type, settings)), initialCredentials));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const fallbacks = new Map<string, TaskFallback>();
  const tasksFor = (system: string): TaskFallback | undefined => {
    const def = deps.policy.systems.find((s) => s.name === system);
    if (!def || !opened.has(system)) return undefined;
    let fallback = fallbacks.get(system);
    if (!fallback) {
      fallback = createTaskFallback(
        { owner: def.owner, connectorType: def.connector.type },
        { system, db: deps.db, ...(deps.now ? { now: deps.now } : {}), ...(deps.actor ? { actor: deps.actor } : {}) },
      );
      fallbacks.set(system, fallback);
    }
    return fallback;
  };
  const internal = createInternalChanges(internalChangeSettings(deps.policy, deps.internal), {
    db: deps.db,
    ...(deps.timezone ? { timezone: deps.timezone } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.actor ? { actor: deps.actor } : {}),
  });
  const notOpened = (system: string) => !opened.has(system) && deps.policy.systems.some((s) => s.name === system);
  return { get: (system) => opened.get(system), tasksFor, connectorFor: (system) => (system === null ? internal : opened.get(system)), internal, initialCredentials, notOpened, close };
}

/**
 * The attribute a directory or SCIM connector writes the identity key to and
 * finds accounts by: the connector's `correlation_attribute` when set, else
 * the system's `correlation.account` (unless that is the account's name or
 * id, which the connector knows without an attribute). Both set and different
 * is refused: accounts jml creates would never be correlated back to their
 * identity, and every plan would try to create them again.
 */
export function correlationAttributeFor(def: Pick<SystemDef, 'name' | 'correlation'>, configured: unknown): string | undefined {
  const fromCorrelation = ['name', 'accountId'].includes(def.correlation.account) ? undefined : def.correlation.account;
  if (typeof configured !== 'string') return fromCorrelation;
  if (fromCorrelation !== undefined && fromCorrelation !== configured) {
    throw new JmlError('invalid_input', `system ${def.name}: connector setting correlation_attribute is ${configured} but correlation.account is ${fromCorrelation}; accounts jml creates carry the key in ${configured} and would never be found by ${fromCorrelation}: make them the same, or drop correlation_attribute`, { details: { system: def.name, field: 'correlation_attribute' } });
  }
  return configured;
}

async function settingsFor(deps: PolicyConnectorsDeps, def: SystemDef, ring: () => Keyring, env: Readonly<Record<string, string | undefined>>): Promise<Record<string, unknown>> {
  const settings = normaliseSettings(def.connector.settings);
  const type = def.connector.type;
  if (type === 'ldap' || type === 'ad' || type === 'scim') {
    const attribute = correlationAttributeFor(def, settings.correlationAttribute);
    if (attribute === undefined) delete settings.correlationAttribute;
    else settings.correlationAttribute = attribute;
  }
  if (type === 'manual') {
    settings.owner ??= def.owner;
    settings.entitlements ??= deps.policy.entitlements.filter((e) => e.system === def.name && !e.template).map((e) => e.name);
  }
  if (type === 'simulated') settings.groups ??= deps.policy.entitlements.filter((e) => e.system === def.name && !e.template).map((e) => e.name);
  if (typeof settings.caFile === 'string') {
    try {
      settings.caPem = readFileSync(settings.caFile, 'utf8');
    } catch (cause) {
      throw new JmlError('invalid_input', `system ${def.name}: cannot read ca_file ${settings.caFile}`, { cause, details: { system: def.name } });
    }
    delete settings.caFile;
  }
  for (const spec of SECRET_FIELDS[type] ?? []) {
    const envName = settings[`${spec.setting}Env`];
    delete settings[`${spec.setting}Env`];
    if (settings[spec.setting] !== undefined) {
      throw new JmlError('invalid_input', `system ${def.name}: a ${spec.field} does not belong in policy files; store it with: jml secret set ${def.name} ${spec.field}`, { details: { system: def.name, field: spec.field } });
    }
    settings[spec.setting] = await secretFor(deps, def, spec, typeof envName === 'string' ? envName : null, ring, env);
  }
  return settings;
}

async function secretFor(deps: PolicyConnectorsDeps, def: SystemDef, spec: SecretField, envName: string | null, ring: () => Keyring, env: Readonly<Record<string, string | undefined>>): Promise<Secret> {
  const fromEnv = envName ? env[envName] : undefined;
  const stored = await deps.db.selectFrom('connector_secrets').select('system').where('system', '=', def.name).where('field', '=', spec.field).executeTakeFirst();
  if (!stored && fromEnv) return new Secret(fromEnv);
  try {
    return await getSecret(deps.db, ring(), def.name, spec.field, secretHost(def, spec.field), { actor: deps.actor ?? 'system:jml' });
  } catch (error) {
    if (isJmlError(error, 'not_found') && envName) {
      throw new JmlError('not_found', `system ${def.name}: no ${spec.field} stored and ${envName} is not set; store it with: jml secret set ${def.name} ${spec.field}`, { details: { system: def.name, field: spec.field } });
    }
    throw error;
  }
}
