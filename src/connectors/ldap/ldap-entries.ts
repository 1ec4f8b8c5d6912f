/**
 * How directory entries read as accounts, entitlements and grants, per
 * flavour: which attributes to ask for, how "enabled" shows, which filter
 * selects user and group entries.
 */
import type { Entry } from 'ldapts';
import type { Account, Grant } from '../../domain/access.ts';
import type { EntitlementInfo } from '../connector.ts';
import type { DecodedEntry, SlotValue } from './ldap-response-decoder.ts';
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
  const state = stateAttribute(s);
  return enabledFrom(s, entry.dn, state === null ? undefined : first(entry, state));
}

/** Whether an account is enabled, from its DN and the first value of its state attribute. */
function enabledFrom(s: LdapSettings, dn: string, state: string | undefined): boolean {
  if (s.flavour === 'ad') return (Number(state ?? UAC_NORMAL) & UAC_DISABLED) === 0;
  switch (s.disable.method) {
    case 'ppolicy': return state === undefined;
    case 'attribute': return state !== s.disable.disabledValue;
    case 'ou': return !isUnderKey(dnKey(dn), dnKey(s.disable.disabledOu));
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

/** An attribute as Account.attributes holds it: null when absent, a string when single-valued, bytes as base64. */
function accountValue(value: SlotValue): string | readonly string[] | null {
  if (value === null || typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return value.map((v: string | Buffer) => (typeof v === 'string' ? v : v.toString('base64')));
}

function firstValue(value: SlotValue): string | undefined {
  const v = accountValue(value);
  return v === null ? undefined : typeof v === 'string' ? v : v[0];
}

/**
 * How a listing reads accounts: the attributes to ask for and the projection
 * that makes an Account straight from a decoded entry's slots (it runs
 * 100,000 times in a listing, so every look-up is worked out here, once).
 */
export function accountProjection(s: LdapSettings): { readonly attributes: string[]; project(entry: DecodedEntry): Account } {
  const attributes = accountAttributes(s);
  const slotOf = (name: string) => attributes.findIndex((a) => a.toLowerCase() === name.toLowerCase());
  const names = [s.correlationAttribute, ...s.attributes];
  const nameSlots = names.map(slotOf);
  const loginSlot = slotOf(s.loginAttribute);
  const state = stateAttribute(s);
  const stateSlot = state === null ? -1 : slotOf(state);
  const lastLogonSlot = s.flavour === 'ad' ? slotOf('lastLogonTimestamp') : -1;
  return {
    attributes,
    project({ dn, slots }) {
      const values: Record<string, string | readonly string[] | null> = {};
      for (let i = 0; i < names.length; i++) values[names[i]!] = accountValue(slots[nameSlots[i]!] ?? null);
      const account: Account = {
        system: s.system,
        accountId: dn,
        name: firstValue(slots[loginSlot] ?? null) ?? dn,
        enabled: enabledFrom(s, dn, stateSlot < 0 ? undefined : firstValue(slots[stateSlot] ?? null)),
        attributes: values,
      };
      if (s.flavour !== 'ad') return account;
      return { ...account, lastLoginAt: fileTimeToIso(lastLogonSlot < 0 ? undefined : firstValue(slots[lastLogonSlot] ?? null)) };
    },
  };
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

/** An attribute value as a case-insensitive equality match compares it (the common matching rule of correlation attributes). */
function matchKey(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Which of the entries a search for `wanted` (an OR of equality filters) returned
 * match each wanted value. A value is left out, to be looked up alone, when the
 * answer cannot be attributed with certainty: an entry none of whose values
 * matches any wanted value (the server compares by a rule other than
 * case-insensitive equality), or two wanted values that differ only in case or
 * spacing (a case-sensitive rule would match only one of them).
 */
export function attributeMatches(entries: readonly Entry[], wanted: readonly string[], valuesOf: (entry: Entry) => readonly string[]): Map<string, Entry[]> {
  const keys = new Map<string, string[]>();
  for (const value of wanted) keys.set(matchKey(value), [...(keys.get(matchKey(value)) ?? []), value]);
  const found = new Map<string, Entry[]>();
  for (const same of keys.values()) if (same.length === 1) found.set(same[0]!, []);
  for (const entry of entries) {
    const hits = [...new Set(valuesOf(entry).map(matchKey))].filter((k) => keys.has(k));
    // An entry no wanted value explains: the server matched by a rule of its own; trust no absence in this answer.
    if (hits.length === 0) return new Map();
    for (const key of hits) {
      const same = keys.get(key)!;
      if (same.length === 1) found.get(same[0]!)!.push(entry);
    }
  }
  return found;
}
