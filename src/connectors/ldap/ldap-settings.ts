/**
 * Settings of an LDAP / Active Directory system, validated at the boundary.
 * Names from settings (attributes, object classes) are trusted syntax after
 * this check; values from identities never are (see ldap-escape.ts).
 */
import { z } from 'zod';
import { Secret } from '../secrets/secret.ts';
import { camelCaseKeys } from '../settings-keys.ts';
import { attributeName } from './ldap-escape.ts';

const attribute = z.string().refine((s) => {
  try {
    attributeName(s);
    return true;
  } catch {
    return false;
  }
}, 'not an LDAP attribute name');

/** `disabled_ou` → `disabledOu`: policy files write settings in snake_case, nested ones too. */
function camelKeys(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? camelCaseKeys(value as Record<string, unknown>) : value;
}

const disableMethod = z.preprocess(camelKeys, z.discriminatedUnion('method', [
  /** ppolicy overlay: pwdAccountLockedTime 000001010000Z locks the account for good. */
  z.object({ method: z.literal('ppolicy') }),
  /** A configured attribute holds a marker value while disabled. */
  z.object({ method: z.literal('attribute'), attribute, disabledValue: z.string().min(1), enabledValue: z.string().min(1).optional() }),
  /** Disabled accounts live in their own OU. */
  z.object({ method: z.literal('ou'), disabledOu: z.string().min(3) }),
]));

export const ldapSettingsSchema = z.object({
  system: z.string().min(1),
  flavour: z.enum(['openldap', 'ad']),
  url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'ldap://host:port or ldaps://host:port'),
  /** For ldap:// URLs: upgrade with StartTLS (default). Plain text only when explicitly allowed. */
  startTls: z.boolean().default(true),
  allowPlaintext: z.boolean().default(false),
  /** PEM of the CA that signed the server certificate; the system trust store when absent. */
  caPem: z.string().optional(),
  bindDn: z.string().min(3),
  /** A plain string for now (encrypted connector secrets hand over a Secret); held as a Secret so it never prints. */
  bindPassword: z.union([z.string().min(1), z.instanceof(Secret)]).transform((p) => (typeof p === 'string' ? new Secret(p) : p)),
  baseDn: z.string().min(3),
  usersOu: z.string().min(3),
  groupsOu: z.string().min(3),
  rdnAttribute: attribute.optional(),
  loginAttribute: attribute.optional(),
  correlationAttribute: attribute.default('employeeNumber'),
  /** Attributes read into Account.attributes besides login and correlation. */
  attributes: z.array(attribute).optional(),
  userObjectClasses: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/)).optional(),
  groupObjectClass: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/).optional(),
  groupNameAttribute: attribute.default('cn'),
  /** OpenLDAP only. */
  disable: disableMethod.default({ method: 'ppolicy' }),
  /**
   * A password jml issues (policy `credentials.on_enable: new_secret`) must be changed at first
   * sign-in: AD `pwdLastSet=0`; OpenLDAP `pwdReset: TRUE`, which needs the ppolicy overlay.
   */
  mustChangePassword: z.boolean().default(true),
  /** groupOfNames must have a member: this DN holds the place of the last one removed. */
  emptyGroupMember: z.string().optional(),
  /** AD only: the suffix of generated userPrincipalNames; from baseDn when absent. */
  upnSuffix: z.string().optional(),
  pageSize: z.number().int().min(1).max(1000).default(1000),
  connections: z.number().int().min(1).max(16).default(3),
  /** Operations sent and not yet answered, across the connections: the most this process asks of the directory at once. */
  maxInFlight: z.number().int().min(1).max(256).default(24),
  timeoutMs: z.number().int().min(100).default(30_000),
}).superRefine((s, ctx) => {
  if (s.url.startsWith('ldap://') && !s.startTls && !s.allowPlaintext) {
    ctx.addIssue({ code: 'custom', path: ['allowPlaintext'], message: 'ldap:// with start_tls: false sends the bind password in clear; use ldaps:// or StartTLS, or set allow_plaintext: true for a test directory' });
  }
});

export type LdapSettingsInput = z.input<typeof ldapSettingsSchema>;

/** Settings with every flavour default filled in. */
export interface LdapSettings extends Omit<z.output<typeof ldapSettingsSchema>, 'rdnAttribute' | 'loginAttribute' | 'attributes' | 'userObjectClasses' | 'groupObjectClass' | 'emptyGroupMember' | 'upnSuffix'> {
  readonly rdnAttribute: string;
  readonly loginAttribute: string;
  readonly attributes: readonly string[];
  readonly userObjectClasses: readonly string[];
  readonly groupObjectClass: string;
  readonly emptyGroupMember: string;
  readonly upnSuffix: string;
}

const FLAVOUR_DEFAULTS = {
  openldap: {
    rdnAttribute: 'uid',
    loginAttribute: 'uid',
    attributes: ['cn', 'sn', 'givenName', 'displayName', 'mail', 'title', 'departmentNumber'],
    userObjectClasses: ['inetOrgPerson'],
    groupObjectClass: 'groupOfNames',
  },
  ad: {
    rdnAttribute: 'cn',
    loginAttribute: 'sAMAccountName',
    attributes: ['cn', 'sn', 'givenName', 'displayName', 'mail', 'title', 'department', 'userPrincipalName', 'lastLogonTimestamp'],
    userObjectClasses: ['top', 'person', 'organizationalPerson', 'user'],
    groupObjectClass: 'group',
  },
} as const;

/** Validates raw settings and fills in flavour defaults. Throws a ZodError on bad input. */
export function parseLdapSettings(input: unknown): LdapSettings {
  const s = ldapSettingsSchema.parse(input);
  const d = FLAVOUR_DEFAULTS[s.flavour];
  return {
    ...s,
    rdnAttribute: s.rdnAttribute ?? d.rdnAttribute,
    loginAttribute: s.loginAttribute ?? d.loginAttribute,
    attributes: s.attributes ?? d.attributes,
    userObjectClasses: s.userObjectClasses ?? d.userObjectClasses,
    groupObjectClass: s.groupObjectClass ?? d.groupObjectClass,
    emptyGroupMember: s.emptyGroupMember ?? `cn=jml-empty-group-placeholder,${s.baseDn}`,
    upnSuffix: s.upnSuffix ?? dnToDomain(s.baseDn),
  };
}

function dnToDomain(dn: string): string {
  return [...dn.matchAll(/(?:^|,)\s*dc=([^,]+)/gi)].map((m) => m[1]).join('.');
}
