/**
 * The directory operations the connector is built from: locate an account,
 * resolve a group, and change entries, each idempotent. Every DN and filter
 * built here from data goes through ldap-escape.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Attribute, Change as LdapChange, type Client, type Control, type Entry } from 'ldapts';
import { JmlError } from '../../domain/errors.ts';
import { childDn, dnKey, ldapFilter, parentDn, parseDn, type RdnPart } from './ldap-escape.ts';
import { ldapResultCode } from './ldap-errors.ts';
import { accountAttributes, accountBases, attributeMatches, first, groupFilter, values, PPOLICY_LOCKED, UAC_DISABLED, UAC_NORMAL, userFilter } from './ldap-entries.ts';
import type { LdapPool } from './ldap-pool.ts';
import { readMemberships, type MembershipQuestion } from './ldap-membership-read.ts';
import { createMemberBatcher } from './ldap-member-batch.ts';
import type { LdapSettings } from './ldap-settings.ts';
import type { Secret } from '../secrets/secret.ts';
import { newAccountPassword } from '../secrets/account-password.ts';

const NO_SUCH_OBJECT = 32;
const NO_SUCH_ATTRIBUTE = 16;
const VALUE_EXISTS = 20;
const ALREADY_EXISTS = 68;
const OBJECT_CLASS_VIOLATION = 65;
const UNWILLING_TO_PERFORM = 53;

export type AttributeValues = Readonly<Record<string, string | readonly string[] | null>>;

/** AD wants the password in double quotes, UTF-16LE encoded, and only over TLS. */
export function adPassword(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** A password AD's default complexity rules accept, for accounts created without one and for scrambling. */
export const generatedPassword = newAccountPassword;

/**
 * What happens to an account's password along with a disable, an enable or a create:
 * `scramble` replaces it with a random value nobody is told; `reset` sets `secret` and
 * makes the person change it at first sign-in (OpenLDAP ppolicy `pwdReset`, AD `pwdLastSet=0`).
 */
export type PasswordAction = { readonly action: 'scramble' } | { readonly action: 'reset'; readonly secret: Secret };

/**
 * An RFC 2307 `{SSHA}` userPassword value. Written pre-hashed so the directory never stores
 * the password in clear, whether or not ppolicy's hash-cleartext option is on.
 */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function replace(type: string, vals: readonly (string | Buffer)[]): LdapChange {
  return new LdapChange({ operation: 'replace', modification: new Attribute({ type, values: vals as string[] }) });
}

function memberChange(operation: 'add' | 'delete', ...dns: string[]): LdapChange {
  return new LdapChange({ operation, modification: new Attribute({ type: 'member', values: dns }) });
}

function asList(value: string | readonly string[]): string[] {
  return typeof value === 'string' ? [value] : [...value];
}

export interface Directory {
  /** The account a change targets: by DN when known, else by correlation value. Null when absent. */
  locate(accountId: string | undefined, correlation: string): Promise<Entry | null>;
  /**
   * `locate` for many accounts with few searches: the ones with a DN are read
   * by DN, the rest with one search per page of correlation values (an OR of
   * escaped equality filters). Each answer means what `locate` would have
   * answered; an Error stands for what it would have thrown (several accounts
   * with one value). A value the page's answer cannot attribute with
   * certainty (a matching rule other than case-insensitive) is looked up alone.
   */
  locateMany(lookups: readonly { readonly accountId: string | undefined; readonly correlation: string }[]): Promise<(Entry | null | Error)[]>;
  /** DN of the group named `name`; throws a terminal error when there is none or several. */
  groupDn(name: string): Promise<string>;
  isMember(groupDn: string, memberDn: string): Promise<boolean>;
  /** `isMember` for a page of grants: one base search per group on OpenLDAP (ldap-membership-read.ts), one per grant on Active Directory. */
  membershipsOf(questions: readonly MembershipQuestion[]): Promise<boolean[]>;
  /** With a `reset` password action, the new account gets that secret and must change it at first sign-in. */
  create(attributes: AttributeValues, correlation: string, password?: PasswordAction): Promise<string>;
  /** Renames when the RDN attribute changes, then replaces the other attributes. Returns the DN after. */
  update(entry: Entry, attributes: AttributeValues): Promise<string>;
  /** Enables or disables, changing the password in the same operation when `password` says so. */
  setEnabled(entry: Entry, enabled: boolean, password?: PasswordAction): Promise<string>;
  remove(entry: Entry): Promise<void>;
  /** Idempotent. Additions to one group asked for in the same turn of the event loop go to the directory as one modify. */
  addMember(groupDn: string, memberDn: string): Promise<void>;
  /** Idempotent (a member already gone is done). Removals from one group asked for in the same turn go as one modify; OpenLDAP's placeholder takes the last member's place. */
  removeMember(groupDn: string, memberDn: string): Promise<void>;
  /** DN of the group named `name`, or null when there is none (throws when several). */
  findGroup(name: string): Promise<string | null>;
  /** Creates the group under groupsOu (idempotent); returns its DN. */
  createGroup(name: string, description: string | null): Promise<string>;
  /** Deletes the group when it has no member but the placeholder; a member left is a terminal error. */
  deleteGroup(name: string): Promise<void>;
}

/** AD's groupType of a global security group: ADS_GROUP_TYPE_GLOBAL_GROUP | ADS_GROUP_TYPE_SECURITY_ENABLED, as a signed 32-bit value. */
export const AD_GLOBAL_SECURITY_GROUP = String(0x80000002 | 0);

/**
 * An AD sAMAccountName for a group: the name with the characters AD refuses
 * (`"/\[]:;|=,+*?<>@`) replaced by `-`. The group's cn keeps the name itself.
 */
export function adGroupAccountName(name: string): string {
  return name.replace(/["/\\[\]:;|=,+*?<>@]/g, '-').slice(0, 64);
}

export function createDirectory(s: LdapSettings, pool: LdapPool): Directory {
  const groupCache = new Map<string, string>();
  /** Groups (by DN key) this process saw without the placeholder member: adding a member needs no second write. */
  const placeholderGone = new Set<string>();
  const search = (base: string, filter: string, attributes: string[], scope: 'base' | 'sub' = 'sub', control?: Control) =>
    pool.run('search', base, async (c: Client) => {
      try {
        return (await c.search(base, { scope, filter, attributes, paged: scope === 'sub' ? { pageSize: s.pageSize } : false }, control)).searchEntries;
      } catch (error) {
        if (ldapResultCode(error) === NO_SUCH_OBJECT) return [];
        throw error;
      }
    });
  const modify = (dn: string, changes: LdapChange[]) => pool.run('modify', dn, (c) => c.modify(dn, changes));

  /** One member into a group, as its own modify; a value already there counts as done. */
  async function addMemberAlone(groupDn: string, memberDn: string): Promise<void> {
    const addOnly = () => modify(groupDn, [memberChange('add', memberDn)]).catch((e: unknown) => { if (!codeIn(e, VALUE_EXISTS, ALREADY_EXISTS)) throw e; });
    if (s.flavour !== 'openldap' || placeholderGone.has(dnKey(groupDn))) return addOnly();
    // The member comes in and the placeholder goes out in one write; a group seen without its placeholder
    // takes the member alone from then on (one write, not two). Should another process put the placeholder
    // back meanwhile, it stays beside the members: harmless, as it is no account's grant.
    try {
      await modify(groupDn, [memberChange('add', memberDn), memberChange('delete', s.emptyGroupMember)]);
    } catch (error) {
      if (codeIn(error, NO_SUCH_ATTRIBUTE)) await addOnly();
      else if (codeIn(error, VALUE_EXISTS, ALREADY_EXISTS)) {
        await modify(groupDn, [memberChange('delete', s.emptyGroupMember)]).catch((e: unknown) => { if (!codeIn(e, NO_SUCH_ATTRIBUTE)) throw e; });
      } else throw error;
    }
    placeholderGone.add(dnKey(groupDn));
  }

  /**
   * Several members into one group with one modify (and the placeholder out in it, the first time).
   * The server applies a modify whole or not at all, so any refusal (a value already there, a
   * placeholder already gone, a member it will not take) sends each member alone, each with its own
   * answer: the outcome per member is what one modify each would have given.
   */
  async function addMembersTogether(groupDn: string, memberDns: readonly string[]): Promise<PromiseSettledResult<void>[]> {
    if (memberDns.length > 1) {
      const placeholder = s.flavour === 'openldap' && !placeholderGone.has(dnKey(groupDn));
      try {
        await modify(groupDn, [memberChange('add', ...memberDns), ...(placeholder ? [memberChange('delete', s.emptyGroupMember)] : [])]);
        if (s.flavour === 'openldap') placeholderGone.add(dnKey(groupDn));
        return memberDns.map(() => ({ status: 'fulfilled', value: undefined }));
      } catch {
        // Each alone, below.
      }
    }
    return Promise.allSettled(memberDns.map((dn) => addMemberAlone(groupDn, dn)));
  }
  const addMember = createMemberBatcher(addMembersTogether);

  /** One member out of a group, as its own modify; a member already gone counts as done. */
  async function removeMemberAlone(groupDn: string, memberDn: string): Promise<void> {
    try {
      await modify(groupDn, [memberChange('delete', memberDn)]);
    } catch (error) {
      if (codeIn(error, NO_SUCH_ATTRIBUTE)) return;
      // Active Directory answers "unwilling to perform" rather than noSuchAttribute when the member is not there
      // (Samba: "Attribute member already deleted"; Windows: ERROR_MEMBER_NOT_IN_GROUP). Removal is done when the
      // group, read back, no longer holds the member; anything else the server refused is still an error.
      if (s.flavour === 'ad' && codeIn(error, UNWILLING_TO_PERFORM)) {
        const still = await search(groupDn, `(member=${ldapFilter`${memberDn}`})`, ['1.1'], 'base');
        if (still.length === 0) return;
        throw error;
      }
      // groupOfNames must keep a member: the placeholder takes the last one's place in the same operation.
      if (!codeIn(error, OBJECT_CLASS_VIOLATION) || s.flavour !== 'openldap') throw error;
      await modify(groupDn, [memberChange('add', s.emptyGroupMember), memberChange('delete', memberDn)]);
      placeholderGone.delete(dnKey(groupDn));
    }
  }

  /**
   * Several members out of one group with one modify. When they are the group's last members, OpenLDAP
   * refuses to leave a groupOfNames empty: the placeholder comes in with the same modify. Any other
   * refusal (a member already gone: OpenLDAP noSuchAttribute, AD unwilling to perform) sends each member
   * alone, each with its own answer, as for additions.
   */
  async function removeMembersTogether(groupDn: string, memberDns: readonly string[]): Promise<PromiseSettledResult<void>[]> {
    const done = () => memberDns.map((): PromiseSettledResult<void> => ({ status: 'fulfilled', value: undefined }));
    if (memberDns.length > 1) {
      try {
        await modify(groupDn, [memberChange('delete', ...memberDns)]);
        return done();
      } catch (error) {
        if (s.flavour === 'openldap' && codeIn(error, OBJECT_CLASS_VIOLATION)) {
          try {
            await modify(groupDn, [memberChange('add', s.emptyGroupMember), memberChange('delete', ...memberDns)]);
            placeholderGone.delete(dnKey(groupDn));
            return done();
          } catch {
            // Each alone, below.
          }
        }
      }
    }
    return Promise.allSettled(memberDns.map((dn) => removeMemberAlone(groupDn, dn)));
  }
  const removeMember = createMemberBatcher(removeMembersTogether);

  /** Groups still listing `oldDn` get `newDn` instead; servers with referential integrity leave none. */
  async function moveMemberships(oldDn: string, newDn: string): Promise<void> {
    const groups = await search(s.groupsOu, `(&${groupFilter(s)}(member=${ldapFilter`${oldDn}`}))`, ['1.1']);
    for (const group of groups) {
      await modify(group.dn, [memberChange('add', newDn)]).catch((e: unknown) => { if (!codeIn(e, VALUE_EXISTS, ALREADY_EXISTS)) throw e; });
      await modify(group.dn, [memberChange('delete', oldDn)]).catch((e: unknown) => { if (!codeIn(e, NO_SUCH_ATTRIBUTE)) throw e; });
    }
  }

  /** AD rewrites DNs into its own form (`CN=…`): report the server's, so outcomes match what list() shows. */
  async function serverDn(dn: string): Promise<string> {
    if (s.flavour !== 'ad') return dn;
    return (await search(dn, '(objectClass=*)', ['1.1'], 'base'))[0]?.dn ?? dn;
  }

  /** Moves or renames: the new RDN is rebuilt from the unescaped value, so its escaping is ours. */
  async function moveTo(entry: Entry, rdn: RdnPart, parent: string): Promise<string> {
    const newDn = childDn(rdn.attribute, rdn.value, parent);
    if (dnKey(newDn) === dnKey(entry.dn)) return entry.dn;
    await pool.run('rename', entry.dn, (c) => c.modifyDN(entry.dn, newDn));
    await moveMemberships(entry.dn, newDn);
    return serverDn(newDn);
  }

  /** The modifications that carry out a password action (AD: over TLS only, which validate() insists on). */
  function passwordChanges(password: PasswordAction | undefined): LdapChange[] {
    if (!password) return [];
    const value = password.action === 'reset' ? password.secret.reveal() : generatedPassword();
    if (s.flavour === 'ad') {
      return [replace('unicodePwd', [adPassword(value)]), ...(password.action === 'reset' && s.mustChangePassword ? [replace('pwdLastSet', ['0'])] : [])];
    }
    return [replace('userPassword', [sshaPassword(value)]), ...(password.action === 'reset' && s.mustChangePassword ? [replace('pwdReset', ['TRUE'])] : [])];
  }

  /**
   * AD: a new login name takes the UPN along when the UPN is the one jml derives at creation
   * (`login@upnSuffix`) and the change does not set one itself (a templated UPN is recomputed by
   * the plan). A UPN someone chose by hand stays.
   */
  function followedUpn(entry: Entry, attributes: AttributeValues): string | null {
    if (Object.keys(attributes).some((name) => name.toLowerCase() === 'userprincipalname')) return null;
    const login = attributes.sAMAccountName ?? attributes[s.loginAttribute];
    const previous = first(entry, 'sAMAccountName');
    if (typeof login !== 'string' || login === '' || previous === undefined || login === previous) return null;
    const current = first(entry, 'userPrincipalName');
    if (current !== undefined && current.toLowerCase() !== `${previous}@${s.upnSuffix}`.toLowerCase()) return null;
    return `${login}@${s.upnSuffix}`;
  }

  const directory: Directory = {
    async locate(accountId, correlation) {
      const attrs = accountAttributes(s);
      if (accountId) {
        const found = await search(accountId, userFilter(s), attrs, 'base');
        if (found[0]) return found[0];
      }
      const filter = `(&${userFilter(s)}(${s.correlationAttribute}=${ldapFilter`${correlation}`}))`;
      const matches: Entry[] = [];
      for (const base of accountBases(s)) matches.push(...(await search(base, filter, attrs)));
      if (matches.length > 1) {
        throw new JmlError('conflict', `${s.system}: ${matches.length} accounts have ${s.correlationAttribute}=${correlation}`, {
          details: { system: s.system, accounts: matches.map((m) => m.dn) },
        });
      }
      return matches[0] ?? null;
    },

    async locateMany(lookups) {
      const attrs = [...new Set([...accountAttributes(s), s.correlationAttribute])];
      const answers: (Entry | null | Error)[] = lookups.map(() => null);
      const byValue: number[] = [];
      await Promise.all(lookups.map(async (lookup, i) => {
        const found = lookup.accountId ? (await search(lookup.accountId, userFilter(s), attrs, 'base'))[0] : undefined;
        if (found) answers[i] = found;
        else byValue.push(i);
      }));
      const pages: number[][] = [];
      for (let i = 0; i < byValue.length; i += LOCATE_PAGE) pages.push(byValue.slice(i, i + LOCATE_PAGE));
      await Promise.all(pages.map(async (page) => {
        const wanted = [...new Set(page.map((i) => lookups[i]!.correlation))];
        const filter = `(&${userFilter(s)}(|${wanted.map((v) => `(${s.correlationAttribute}=${ldapFilter`${v}`})`).join('')}))`;
        const entries: Entry[] = [];
        for (const base of accountBases(s)) entries.push(...(await search(base, filter, attrs)));
        const matches = attributeMatches(entries, wanted, (e) => values(e, s.correlationAttribute));
        await Promise.all(page.map(async (i) => {
          const value = lookups[i]!.correlation;
          const found = matches.get(value);
          if (found === undefined) {
            answers[i] = await directory.locate(undefined, value).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
          } else if (found.length > 1) {
            answers[i] = new JmlError('conflict', `${s.system}: ${found.length} accounts have ${s.correlationAttribute}=${value}`, {
              details: { system: s.system, accounts: found.map((m) => m.dn) },
            });
          } else {
            answers[i] = found[0] ?? null;
          }
        }));
      }));
      return answers;
    },

    async groupDn(name) {
      const cached = groupCache.get(name);
      if (cached) return cached;
      const found = await search(s.groupsOu, groupFilter(s, name), ['1.1']);
      if (found.length !== 1) {
        throw new JmlError('connector', `${s.system}: ${found.length === 0 ? 'no' : found.length} group named ${JSON.stringify(name)} under ${s.groupsOu}`, {
          retryable: false, details: { system: s.system, entitlement: name },
        });
      }
      groupCache.set(name, found[0]!.dn);
      return found[0]!.dn;
    },

    async isMember(groupDn, memberDn) {
      return (await search(groupDn, `(member=${ldapFilter`${memberDn}`})`, ['1.1'], 'base')).length > 0;
    },

    async membershipsOf(questions) {
      // Active Directory has no Matched Values control, and a big group's answer comes in ranges.
      if (s.flavour === 'ad') return Promise.all(questions.map((q) => directory.isMember(q.groupDn, q.memberDn)));
      return readMemberships({ readGroup: (groupDn, filter, control) => search(groupDn, filter, ['member'], 'base', control), isMember: (g, m) => directory.isMember(g, m) }, questions);
    },

    async create(attributes, correlation, passwordAction) {
      const rdnValue = attributes[s.rdnAttribute] ?? (s.flavour === 'ad' ? attributes.displayName ?? attributes[s.loginAttribute] : undefined);
      if (typeof rdnValue !== 'string' || rdnValue === '') {
        throw new JmlError('invalid_input', `${s.system}: create_account needs a single ${s.rdnAttribute} value`, { details: { system: s.system } });
      }
      const dn = childDn(s.rdnAttribute, rdnValue, s.usersOu);
      const entry: Record<string, string[] | Buffer[]> = { objectClass: [...s.userObjectClasses] };
      let password: string | undefined;
      for (const [name, value] of Object.entries(attributes)) {
        if (value === null) continue;
        if (name === 'password') password = typeof value === 'string' ? value : value[0];
        else entry[name] = asList(value);
      }
      const reset = passwordAction?.action === 'reset' ? passwordAction.secret : null;
      entry[s.rdnAttribute] = [rdnValue];
      entry[s.correlationAttribute] = [correlation];
      if (s.flavour === 'openldap') {
        entry.cn ??= [rdnValue];
        entry.sn ??= entry.cn as string[];
        if (reset) {
          entry.userPassword = [sshaPassword(reset.reveal())];
          if (s.mustChangePassword) entry.pwdReset = ['TRUE'];
        } else if (password) entry.userPassword = [password];
      } else {
        const sam = (entry.sAMAccountName ?? entry[s.loginAttribute]) as string[] | undefined;
        if (!sam?.[0]) throw new JmlError('invalid_input', `${s.system}: create_account needs sAMAccountName`, { details: { system: s.system } });
        entry.sAMAccountName = [sam[0]];
        entry.userPrincipalName ??= [`${sam[0]}@${s.upnSuffix}`];
        entry.unicodePwd = [adPassword(reset?.reveal() ?? password ?? generatedPassword())];
        entry.userAccountControl = [String(UAC_NORMAL)];
        if (reset && s.mustChangePassword) entry.pwdLastSet = ['0'];
      }
      const attrs = Object.entries(entry).map(([type, vals]) => new Attribute({ type, values: vals as string[] }));
      try {
        await pool.run('add', dn, (c) => c.add(dn, attrs));
      } catch (error) {
        if (!codeIn(error, ALREADY_EXISTS)) throw error;
        // A retry after a crash finds its own account; anyone else's is a conflict.
        const existing = await search(dn, '(objectClass=*)', [s.correlationAttribute], 'base');
        if (first(existing[0] ?? { dn }, s.correlationAttribute) !== correlation) {
          throw new JmlError('conflict', `${s.system}: ${dn} already exists and belongs to someone else`, { details: { system: s.system, dn } });
        }
      }
      return serverDn(dn);
    },

    async update(entry, attributes) {
      let dn = entry.dn;
      const newRdn = attributes[s.rdnAttribute];
      if (typeof newRdn === 'string' && newRdn !== first(entry, s.rdnAttribute)) {
        dn = await moveTo(entry, { attribute: s.rdnAttribute, value: newRdn }, parentDn(dn));
      }
      const changes: LdapChange[] = [];
      for (const [name, value] of Object.entries(attributes)) {
        if (name.toLowerCase() === s.rdnAttribute.toLowerCase()) continue;
        if (name === 'password') {
          if (typeof value !== 'string') continue;
          changes.push(s.flavour === 'ad' ? replace('unicodePwd', [adPassword(value)]) : replace('userPassword', [value]));
        } else {
          changes.push(replace(name, value === null ? [] : asList(value)));
        }
      }
      const upn = s.flavour === 'ad' ? followedUpn(entry, attributes) : null;
      if (upn !== null) changes.push(replace('userPrincipalName', [upn]));
      if (changes.length > 0) await modify(dn, changes);
      return dn;
    },

    async setEnabled(entry, enabled, password) {
      // The password changes with the state or before it, never after: no moment holds an enabled account with the old one.
      const secretChanges = passwordChanges(password);
      if (s.flavour === 'ad') {
        const uac = Number(first(entry, 'userAccountControl') ?? UAC_NORMAL);
        const next = enabled ? uac & ~UAC_DISABLED : uac | UAC_DISABLED;
        const changes = [...secretChanges, ...(next !== uac ? [replace('userAccountControl', [String(next)])] : [])];
        if (changes.length > 0) await modify(entry.dn, changes);
        return entry.dn;
      }
      const d = s.disable;
      if (d.method === 'ppolicy') {
        // ppolicy drops pwdAccountLockedTime whenever an administrator sets a password, even a lock set in
        // the same modify: so the password goes first, then the lock, in both directions.
        if (secretChanges.length > 0) await modify(entry.dn, secretChanges);
        await modify(entry.dn, [replace('pwdAccountLockedTime', enabled ? [] : [PPOLICY_LOCKED])]);
        return entry.dn;
      }
      if (d.method === 'attribute') {
        await modify(entry.dn, [...secretChanges, replace(d.attribute, enabled ? (d.enabledValue ? [d.enabledValue] : []) : [d.disabledValue])]);
        return entry.dn;
      }
      const rdn = parseDn(entry.dn)[0];
      if (!rdn) throw new JmlError('internal', `empty DN for ${s.system}`);
      // A move cannot carry modifications: on disable the password goes first, on enable it changes before the move back.
      if (secretChanges.length > 0) await modify(entry.dn, secretChanges);
      return moveTo(entry, rdn, enabled ? s.usersOu : d.disabledOu);
    },

    async remove(entry) {
      if (s.flavour === 'openldap') {
        const groups = await search(s.groupsOu, `(&${groupFilter(s)}(member=${ldapFilter`${entry.dn}`}))`, ['1.1']);
        for (const group of groups) await directory.removeMember(group.dn, entry.dn);
      }
      await pool.run('delete', entry.dn, (c) => c.del(entry.dn)).catch((e: unknown) => { if (!codeIn(e, NO_SUCH_OBJECT)) throw e; });
    },

    addMember(groupDn, memberDn) {
      return addMember(groupDn, memberDn);
    },

    async findGroup(name) {
      const found = await search(s.groupsOu, groupFilter(s, name), ['1.1']);
      if (found.length > 1) {
        throw new JmlError('connector', `${s.system}: ${found.length} groups named ${JSON.stringify(name)} under ${s.groupsOu}`, {
          retryable: false, details: { system: s.system, entitlement: name },
        });
      }
      return found[0]?.dn ?? null;
    },

    async createGroup(name, description) {
      if (name.length > 64) {
        throw new JmlError('invalid_input', `${s.system}: group name ${JSON.stringify(name)} is longer than 64 characters`, { details: { system: s.system, entitlement: name } });
      }
      const dn = childDn(s.groupNameAttribute, name, s.groupsOu);
      const entry: Record<string, string[]> = { objectClass: [s.groupObjectClass], [s.groupNameAttribute]: [name] };
      if (description) entry.description = [description];
      if (s.flavour === 'ad') {
        entry.sAMAccountName = [adGroupAccountName(name)];
        entry.groupType = [AD_GLOBAL_SECURITY_GROUP];
      } else {
        // groupOfNames needs a member: the placeholder, which the first addMember replaces.
        entry.member = [s.emptyGroupMember];
      }
      try {
        await pool.run('add', dn, (c) => c.add(dn, Object.entries(entry).map(([type, vals]) => new Attribute({ type, values: vals }))));
      } catch (error) {
        if (!codeIn(error, ALREADY_EXISTS)) throw error;
        // A retry finds its own group; an entry of another kind at that DN is a conflict.
        if ((await directory.findGroup(name)) === null) {
          throw new JmlError('conflict', `${s.system}: ${dn} already exists and is not a group named ${JSON.stringify(name)}`, { details: { system: s.system, dn } });
        }
      }
      const created = await serverDn(dn);
      groupCache.set(name, created);
      placeholderGone.delete(dnKey(created));
      return created;
    },

    async deleteGroup(name) {
      groupCache.delete(name);
      const dn = await directory.findGroup(name);
      if (dn === null) return;
      const [entry] = await search(dn, '(objectClass=*)', ['member'], 'base');
      const placeholder = dnKey(s.emptyGroupMember);
      const members = entry ? values(entry, 'member').filter((m) => dnKey(m) !== placeholder) : [];
      if (members.length > 0) {
        throw new JmlError('connector', `${s.system}: group ${JSON.stringify(name)} still has ${members.length} member(s); jml deletes only empty groups`, {
          retryable: false, details: { system: s.system, entitlement: name },
        });
      }
      await pool.run('delete', dn, (c) => c.del(dn)).catch((e: unknown) => { if (!codeIn(e, NO_SUCH_OBJECT)) throw e; });
    },

    removeMember(groupDn, memberDn) {
      return removeMember(groupDn, memberDn);
    },
  };
  return directory;
}

/** Correlation values searched for at once: one OR filter of this many terms. */
const LOCATE_PAGE = 100;

function codeIn(error: unknown, ...codes: number[]): boolean {
  const cause = error instanceof JmlError ? error.cause : error;
  const code = ldapResultCode(cause);
  return code !== undefined && codes.includes(code);
}
