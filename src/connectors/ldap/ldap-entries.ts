/**
 * How directory entries read as accounts, entitlements and grants, per
 * flavour: which attributes to ask for, how "enabled" shows, which filter
 * selects user and group entries.
 */
import type { Entry } from 'ldapts';
import type { Account, Grant } from '../../domain/access.ts';
import type { EntitlementInfo } from '../connector.ts';
import { dnKey, ldapFilter } from './ldap-escape.ts';
import type { LdapSettings } from './ldap-settings.ts';

/** AD userAccountControl: ACCOUNTDISABLE. */
export const UAC_DISABLED = 0x2;
/** AD userAccountControl: NORMAL_ACCOUNT. */
export const UAC_NORMAL = 0x200;
/** ppolicy: a lock time of 000001010000Z locks until an administrator unlocks. */
export const PPOLICY_LOCKED = '000001010000Z';

/** All values of an attribute, matched case-insensitively; binary values as base64. */
export function values(entry: Entry, attribute: string): string[] {
  // ldapts keys entries by the server's attribute names and adds requested-but-absent ones
  // under the requested name, so the direct look-up nearly always hits (it is the hot path
  // of a 100k-account listing); the case-insensitive scan is the fallback.
  let value = attribute === 'dn' ? undefined : entry[attribute];
  if (value === undefined) {
    const wanted = attribute.toLowerCase();
    const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === wanted);
    if (key === undefined) return [];
    value = entry[key]!;
  }
  if (typeof value === 'string') return [value];
  if (Buffer.isBuffer(value)) return [value.toString('base64')];
  return value.map((v) => (typeof v === 'string' ? v : v.toString('base64')));
}

export function first(entry: Entry, attribute: string): string | undefined {
  const value = attribute === 'dn' ? undefined : entry[attribute];
  if (typeof value === 'string') return value;
  return values(entry, attribute)[0];
}

/** Filter selecting user entries (AD: users but not computers, which derive from user). */
export function userFilter(s: LdapSettings): string {
  const cls = s.userObjectClasses[s.userObjectClasses.length - 1] ?? 'person';
  return s.flavour === 'ad' ? `(&(objectClass=${cls})(!(objectClass=computer)))` : `(objectClass=${cls})`;
}

export function groupFilter(s: LdapSettings, name?: string): string {
  return name === undefined
    ? `(objectClass=${s.groupObjectClass})`
    : `(&(objectClass=${s.groupObjectClass})(${s.groupNameAttribute}=${ldapFilter`${name}`}))`;
}

/** Where user entries live: the users OU, and the disabled OU when disabling moves entries. */
export function accountBases(s: LdapSettings): readonly string[] {
  return s.flavour === 'openldap' && s.disable.method === 'ou' ? [s.usersOu, s.disable.disabledOu] : [s.usersOu];
}

/** The attribute that says whether the account is enabled, if any. */
function stateAttribute(s: LdapSettings): string | null {
  if (s.flavour === 'ad') return 'userAccountControl';
  if (s.disable.method === 'ppolicy') return 'pwdAccountLockedTime';
  if (s.disable.method === 'attribute') return s.disable.attribute;
  return null;
}

/** Attributes to request for accounts. */
export function accountAttributes(s: LdapSettings): string[] {
  const state = stateAttribute(s);
  return [...new Set([s.rdnAttribute, s.loginAttribute, s.correlationAttribute, ...s.attributes, ...(state ? [state] : [])])];
}

export function isEnabled(s: LdapSettings, entry: Entry): boolean {
  if (s.flavour === 'ad') return (Number(first(entry, 'userAccountControl') ?? UAC_NORMAL) & UAC_DISABLED) === 0;
  switch (s.disable.method) {
    case 'ppolicy': return first(entry, 'pwdAccountLockedTime') === undefined;
    case 'attribute': return first(entry, s.disable.attribute) !== s.disable.disabledValue;
    case 'ou': return !isUnderKey(dnKey(entry.dn), dnKey(s.disable.disabledOu));
  }
}

function isUnderKey(key: string, baseKey: string): boolean {
  return key === baseKey || key.endsWith(`,${baseKey}`);
}

/** AD's lastLogonTimestamp counts 100 ns intervals since 1601-01-01. */
function fileTimeToIso(value: string | undefined): string | null {
  if (!value || !/^\d+$/.test(value) || value === '0') return null;
  const ms = Number(BigInt(value) / 10_000n) - 11_644_473_600_000;
  return new Date(ms).toISOString();
}

/** An attribute as Account.attributes holds it: null when absent, a string when single-valued. */
function attributeValue(entry: Entry, name: string): string | readonly string[] | null {
  const value = entry[name];
  // The fast path: a listing's entries name every requested attribute as requested (see values()).
  if (typeof value === 'string') return value;
  const all = values(entry, name);
  return all.length === 0 ? null : all.length === 1 ? all[0]! : all;
}

/**
 * Reads entries as accounts; the attribute list is worked out once, not per
 * entry (it runs 100,000 times in a listing).
 */
export function accountReader(s: LdapSettings): (entry: Entry) => Account {
  const names = [s.correlationAttribute, ...s.attributes];
  const ad = s.flavour === 'ad';
  return (entry) => {
    const attributes: Record<string, string | readonly string[] | null> = {};
    for (const name of names) attributes[name] = attributeValue(entry, name);
    const login = attributeValue(entry, s.loginAttribute);
    const account: Account = {
      system: s.system,
      accountId: entry.dn,
      name: login === null ? entry.dn : typeof login === 'string' ? login : login[0]!,
      enabled: isEnabled(s, entry),
      attributes,
    };
    return ad ? { ...account, lastLoginAt: fileTimeToIso(first(entry, 'lastLogonTimestamp')) } : account;
  };
}

export function toAccount(s: LdapSettings, entry: Entry): Account {
  return accountReader(s)(entry);
}

export function toEntitlement(s: LdapSettings, entry: Entry): EntitlementInfo {
  const name = first(entry, s.groupNameAttribute) ?? entry.dn;
  return { system: s.system, entitlement: name, displayName: first(entry, 'description') ?? name, type: 'group' };
}

/** Grants of one group: its members that are accounts (placeholders and foreign DNs are not). */
export function toGrants(s: LdapSettings, entry: Entry, members: readonly string[]): Grant[] {
  const name = first(entry, s.groupNameAttribute) ?? entry.dn;
  const bases = accountBases(s).map(dnKey);
  const grants: Grant[] = [];
  for (const member of members) {
    const key = dnKey(member);
    if (bases.some((b) => isUnderKey(key, b))) grants.push({ system: s.system, accountId: member, entitlement: name });
  }
  return grants;
}
