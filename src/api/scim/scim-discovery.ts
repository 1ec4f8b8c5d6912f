/**
 * What a SCIM client reads to learn this service provider (RFC 7644 §4):
 * ServiceProviderConfig, ResourceTypes and Schemas (User, the enterprise
 * extension and jml's extension). Static documents with the base URL filled in.
 */
import { ADDRESS_ATTRIBUTES, CORE_SIMPLE_ATTRIBUTES, CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA, NAME_ATTRIBUTES } from '../../sources/scim-user-table.ts';

/** Limits a client is told (and held to). */
export const SCIM_LIMITS = {
  /** Operations in one Bulk request (Entra's API-driven inbound sends at most 50). */
  maxOperations: 100,
  /** Bytes of one request body, Bulk included. */
  maxPayloadSize: 1024 * 1024,
  /** Resources one list or search answers at most. */
  maxResults: 1000,
} as const;

type Attribute = Record<string, unknown>;

function attribute(name: string, extra: Partial<Attribute> = {}): Attribute {
  return { name, type: 'string', multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra };
}

function complex(name: string, subs: readonly string[], extra: Partial<Attribute> = {}): Attribute {
  return attribute(name, { type: 'complex', subAttributes: subs.map((s) => attribute(s)), ...extra });
}

const MULTI_SUBS = ['value', 'display', 'type', 'primary'];

const USER_ATTRIBUTES: Attribute[] = [
  attribute('id', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  ...CORE_SIMPLE_ATTRIBUTES.map((n) => attribute(n, n === 'userName' ? { required: true, uniqueness: 'server' } : n === 'externalId' ? { caseExact: true } : {})),
  attribute('active', { type: 'boolean' }),
  complex('name', NAME_ATTRIBUTES),
  complex('emails', MULTI_SUBS, { multiValued: true }),
  complex('phoneNumbers', MULTI_SUBS, { multiValued: true }),
  complex('addresses', [...ADDRESS_ATTRIBUTES, 'type', 'primary'], { multiValued: true }),
];

const ENTERPRISE_ATTRIBUTES: Attribute[] = [
  ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => attribute(n)),
  complex('manager', ['value', '$ref', 'displayName']),
];

const JML_ATTRIBUTES: Attribute[] = [
  attribute('startDate', { description: 'First working day, YYYY-MM-DD (or an ISO instant) in the organisation\'s time zone: a joiner takes effect then.' }),
  attribute('endDate', { description: 'Last working day: a leaver takes effect at the end of it.' }),
  attribute('employmentType', { description: 'Full time, part time, contractor, temp, …: decides the kind unless kind is given.' }),
  attribute('kind', { description: 'employee, contractor, contingent, service_account, integration or ai_agent.' }),
];

function schema(id: string, name: string, description: string, attributes: Attribute[], base: string): Attribute {
  return { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id, name, description, attributes, meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` } };
}

/** The three schemas this provider knows. */
export function scimSchemas(base: string): Attribute[] {
  return [
    schema(CORE_USER_SCHEMA, 'User', 'A person or other identity pushed by an authoritative source', USER_ATTRIBUTES, base),
    schema(ENTERPRISE_USER_SCHEMA, 'EnterpriseUser', 'Enterprise User (RFC 7643 §4.3)', ENTERPRISE_ATTRIBUTES, base),
    schema(JML_USER_SCHEMA, 'JmlUser', 'What jml needs beyond the enterprise extension: the dates and kind of an engagement', JML_ATTRIBUTES, base),
  ];
}

/** The User resource type with its two extensions. */
export function scimResourceTypes(base: string): Attribute[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'Records of this source',
      schema: CORE_USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }, { schema: JML_USER_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
  ];
}

/** ServiceProviderConfig: PATCH, Bulk, filter, sort and ETag supported; bearer tokens. */
export function serviceProviderConfig(base: string): Attribute {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: SCIM_LIMITS.maxOperations, maxPayloadSize: SCIM_LIMITS.maxPayloadSize },
    filter: { supported: true, maxResults: SCIM_LIMITS.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'Bearer token', description: 'A token issued with `jml scim token create --source <source>`; it selects the source.', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}
