/**
 * Connector types by name, so policy (`systems[].connector.type`) can
 * instantiate a system's connector. Built-in: fake, simulated, manual, chaos. Other
 * connectors (ldap, scim…) add one line to BUILT_IN_CONNECTORS, or are
 * registered on an instance with `register`.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { JmlError } from '../domain/errors.ts';
import type { Database } from '../store/database.ts';
import { createChaosConnector, type ChaosSettings } from './chaos/chaos-connector.ts';
import type { Connector } from './connector.ts';
import { createFakeConnector, type FakeSettings } from './fake/fake-connector.ts';
import { createManualConnector, type ManualSettings } from './manual/manual-connector.ts';
import { createLdapConnector } from './ldap/index.ts';
import { createScimConnector } from './scim/index.ts';
import { createSimulatedConnector, type SimulatedSettings } from './simulated/simulated-connector.ts';

export interface ConnectorConfig {
  readonly type: string;
  readonly settings?: unknown;
}

/** What a factory may use besides its settings. */
export interface ConnectorDeps {
  /** The system's name in policy. */
  readonly system: string;
  /** The store; required by connectors that keep state in jml (manual, simulated). */
  readonly db?: Kysely<Database>;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The registry itself, for connectors that wrap another (chaos). */
  readonly registry: ConnectorRegistry;
}

/** Builds a connector; validates its own settings (a zod failure becomes invalid_input). */
export type ConnectorFactory = (settings: unknown, deps: ConnectorDeps) => Connector | Promise<Connector>;

export interface ConnectorRegistry {
  register(type: string, factory: ConnectorFactory): void;
  types(): readonly string[];
  create(config: ConnectorConfig, deps: Omit<ConnectorDeps, 'registry'>): Promise<Connector>;
}

const chaosWrapperSchema = z.object({ inner: z.object({ type: z.string().min(1), settings: z.unknown().optional() }) }).loose();

export const BUILT_IN_CONNECTORS: Readonly<Record<string, ConnectorFactory>> = {
  fake: (settings, deps) => createFakeConnector((settings ?? {}) as FakeSettings, { system: deps.system, ...(deps.sleep ? { sleep: deps.sleep } : {}) }),
  simulated: (settings, deps) => {
    if (!deps.db) throw new JmlError('internal', `the simulated connector of ${deps.system} needs the store`);
    return createSimulatedConnector((settings ?? {}) as SimulatedSettings, { system: deps.system, db: deps.db, ...(deps.now ? { now: deps.now } : {}) });
  },
  manual: (settings, deps) => {
    if (!deps.db) throw new JmlError('internal', `the manual connector of ${deps.system} needs the store`);
    return createManualConnector((settings ?? {}) as ManualSettings, { system: deps.system, db: deps.db, ...(deps.now ? { now: deps.now } : {}) });
  },
  ldap: (settings, deps) => createLdapConnector({ flavour: 'openldap', ...(settings as object), system: deps.system }),
  ad: (settings, deps) => createLdapConnector({ ...(settings as object), flavour: 'ad', system: deps.system }),
  scim: (settings, deps) => createScimConnector((settings ?? {}) as never, { system: deps.system, ...(deps.sleep ? { sleep: deps.sleep } : {}) }),
  chaos: async (settings, deps) => {
    const { inner, ...chaos } = chaosWrapperSchema.parse(settings ?? {});
    const wrapped = await deps.registry.create(inner, deps);
    return createChaosConnector(chaos as ChaosSettings, { inner: wrapped, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  },
};

/**
 * One line per problem of a settings validation, each setting named as policy
 * files spell it (`users_ou`, `disable.disabled_ou`), whichever spelling was given.
 */
export function settingsProblems(error: z.ZodError): string[] {
  return settingsIssues(error).map((i) => `${i.setting || '(settings)'}: ${i.message}`);
}

/** A settings problem: the setting as policy files spell it (`disable.disabled_ou`; empty for the whole), and what is wrong. */
export interface SettingsIssue {
  readonly setting: string;
  readonly message: string;
}

/** The issues of a settings validation, each setting named in snake_case. */
export function settingsIssues(error: z.ZodError): SettingsIssue[] {
  return error.issues.map((i) => ({ setting: i.path.map((p) => String(p).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join('.'), message: i.message }));
}

/**
 * Creates a registry holding the given factories (the built-in ones by default).
 * @example
 * const registry = createConnectorRegistry();
 * const wiki = await registry.create({ type: 'fake', settings: { groups: ['staff'] } }, { system: 'wiki' });
 */
export function createConnectorRegistry(factories: Readonly<Record<string, ConnectorFactory>> = BUILT_IN_CONNECTORS): ConnectorRegistry {
  const known = new Map(Object.entries(factories));
  const registry: ConnectorRegistry = {
    register(type, factory) {
      if (known.has(type)) throw new JmlError('conflict', `connector type ${type} is already registered`);
      known.set(type, factory);
    },
    types: () => [...known.keys()].sort(),
    async create(config, deps) {
      const factory = known.get(config.type);
      if (!factory) {
        throw new JmlError('invalid_input', `system ${deps.system}: unknown connector type ${JSON.stringify(config.type)} (known: ${registry.types().join(', ')})`, {
          details: { system: deps.system, type: config.type },
        });
      }
      try {
        return await factory(config.settings, { ...deps, registry });
      } catch (error) {
        if (error instanceof z.ZodError) {
          const problems = settingsProblems(error).join('; ');
          throw new JmlError('invalid_input', `system ${deps.system}: ${config.type} connector settings: ${problems}`, { cause: error, details: { system: deps.system, type: config.type } });
        }
        throw error;
      }
    },
  };
  return registry;
}
