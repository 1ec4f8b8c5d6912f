/**
 * Connector settings keys as policy files write them (snake_case, YAML style)
 * and as connectors read them (camelCase). One rule, used where policy
 * settings reach a connector and by connectors for their nested settings.
 */

/**
 * The same settings with snake_case keys in camelCase (`disabled_ou` →
 * `disabledOu`); camelCase keys stay as they are. One level only: a nested
 * object is converted by whoever reads it.
 * @example camelCaseKeys({ base_dn: 'dc=corp', startTls: true }) // { baseDn: 'dc=corp', startTls: true }
 */
export function camelCaseKeys(settings: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) out[key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = value;
  return out;
}
