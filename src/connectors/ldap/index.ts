/**
 * LDAP / Active Directory connector. Public surface:
 * - `createLdapConnector(settings)`: the Connector (types `ldap` and `ad`).
 * - `ldapSettingsSchema` / `parseLdapSettings`: the settings and their defaults.
 * - `filterValue`, `ldapFilter`, `dnValue`, `childDn`: RFC 4515 / 4514 escaping.
 */
export { createLdapConnector, type LdapConnector } from './ldap-connector.ts';
export { ldapSettingsSchema, parseLdapSettings, type LdapSettings, type LdapSettingsInput } from './ldap-settings.ts';
export { childDn, dnKey, dnValue, filterValue, ldapFilter, parseDn } from './ldap-escape.ts';
