/**
 * SCIM 2.0 connector (RFC 7643/7644): Users as accounts, Groups as
 * entitlements, group members as grants.
 */
export { createScimConnector, type ScimConnectorDeps } from './scim-connector.ts';
export { scimSettingsSchema, type ScimSettings, type ScimSettingsInput } from './scim-settings.ts';
export { equalsFilter } from './scim-filter.ts';
export { parseRetryAfter, isRetryableStatus } from './scim-client.ts';
