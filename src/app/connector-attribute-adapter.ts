/**
 * Between the engine's account attributes and a connector's. The engine names
 * an account's login `name` (it compares it with `Account.name`); each
 * connector spells that attribute its own way (uid, sAMAccountName, userName,
 * user_name). And a connector that writes the correlation value itself (SCIM
 * puts the identity key in externalId) refuses to be handed it as an attribute.
 * The adapter rewrites a change's attributes on the way in, for apply and
 * read-back alike, so both see the same change.
 */
import type { Change } from '../domain/change.ts';
import type { ChangeSecrets, Connector } from '../connectors/connector.ts';

export interface AttributeMapping {
  /** The connector's attribute for the engine's `name`. */
  readonly loginAttribute: string;
  /** Attributes the connector sets itself and must not be given. */
  readonly managed: readonly string[];
}

/** The mapping for a connector type and its (normalised) settings; null when attributes pass unchanged. */
export function attributeMappingFor(type: string, settings: Readonly<Record<string, unknown>>): AttributeMapping | null {
  const text = (key: string) => (typeof settings[key] === 'string' ? (settings[key] as string) : undefined);
  switch (type) {
    case 'ldap': return { loginAttribute: text('loginAttribute') ?? 'uid', managed: [] };
    case 'ad': return { loginAttribute: text('loginAttribute') ?? 'sAMAccountName', managed: [] };
    case 'scim': return { loginAttribute: 'userName', managed: [text('correlationAttribute') ?? 'externalId'] };
    case 'fake':
    case 'simulated':
    case 'manual': return { loginAttribute: 'user_name', managed: [] };
    case 'chaos': {
      const inner = settings.inner as { type?: unknown; settings?: unknown } | undefined;
      return typeof inner?.type === 'string' ? attributeMappingFor(inner.type, (inner.settings ?? {}) as Record<string, unknown>) : null;
    }
    default: return null;
  }
}

/** The change as the connector understands it. */
export function mapChangeAttributes(change: Change, mapping: AttributeMapping): Change {
  if (!change.attributes) return change;
  const attributes: Record<string, string | readonly string[] | null> = {};
  for (const [name, value] of Object.entries(change.attributes)) {
    if (mapping.managed.includes(name)) continue;
    if (name === 'name') {
      // An explicit template for the login attribute wins over the default login name.
      if (!(mapping.loginAttribute in change.attributes)) attributes[mapping.loginAttribute] = value;
      continue;
    }
    attributes[name] = value;
  }
  return { ...change, attributes };
}

/** Wraps a connector so every change reaches it with connector-spelled attributes. */
export function withAttributeMapping<C extends Connector>(connector: C, mapping: AttributeMapping | null): Connector {
  if (mapping === null) return connector;
  const wrapped: Connector = {
    describe: () => connector.describe(),
    validate: () => connector.validate(),
    ...(connector.server ? { server: () => connector.server!() } : {}),
    list: (kind, cursor, pageSize) => connector.list(kind, cursor, pageSize),
    readBack: (change) => connector.readBack(mapChangeAttributes(change, mapping)),
    ...(connector.readBackMany ? { readBackMany: (changes: readonly Change[]) => connector.readBackMany!(changes.map((c) => mapChangeAttributes(c, mapping))) } : {}),
    ...(connector.apply ? { apply: (change: Change, secrets?: ChangeSecrets) => connector.apply!(mapChangeAttributes(change, mapping), secrets) } : {}),
    ...(connector.close ? { close: () => connector.close!() } : {}),
  };
  return wrapped;
}
