/**
 * A User as the inbound SCIM tests push it: core attributes, the enterprise
 * extension (department, employee number) and jml's (start date). `enterprise`
 * and `jml` add to or replace those extensions' attributes, `extra` the
 * top-level ones (`active`, `title`, …).
 */
import { ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA, type ScimObject } from '../../src/sources/scim-user-table.ts';

export interface ScimUserOverrides {
  readonly enterprise?: Record<string, unknown>;
  readonly jml?: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
}

/** @example scimUser('E1', { enterprise: { department: 'Sales' }, extra: { active: 'False' } }) */
export function scimUser(id: string, over: ScimUserOverrides = {}): ScimObject {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER_SCHEMA, JML_USER_SCHEMA],
    externalId: id,
    userName: `${id.toLowerCase()}@example.com`,
    name: { givenName: 'Given', familyName: id },
    emails: [{ type: 'work', value: `${id.toLowerCase()}@example.com`, primary: true }],
    [ENTERPRISE_USER_SCHEMA]: { department: 'Engineering', employeeNumber: id, ...over.enterprise },
    [JML_USER_SCHEMA]: { startDate: '2026-01-05', ...over.jml },
    ...over.extra,
  };
}
