/**
 * The LDAP / Active Directory connector: lists accounts, groups and
 * memberships page by page, reads back and applies account and grant
 * changes. `flavour` picks OpenLDAP (inetOrgPerson + groupOfNames) or Active
 * Directory (user + group, unicodePwd, userAccountControl).
 */
import type { Entry } from 'ldapts';
import type { Change, ChangeKind, ChangeOutcome } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ChangeSecrets, Connector, ConnectorDescription, ListKind, ListTypes, Page, ReadBack, ServerInfo, ValidationResult } from '../connector.ts';
import { tlsSessionOf } from '../tls-session.ts';
import { ldapError, failedOutcome } from './ldap-errors.ts';
import { accountAttributes, accountBases, accountProjection, groupFilter, isEnabled, toEntitlement, toGrants, userFilter, values } from './ldap-entries.ts';
import { createDirectory, type PasswordAction } from './ldap-directory.ts';
import { createLdapPool } from './ldap-pool.ts';
import { createPagedLister } from './ldap-paging.ts';
import { toEntry } from './ldap-response-decoder.ts';
import { dnKey } from './ldap-escape.ts';
import { createSearchStream, type SearchStream, type SearchStreamOptions } from './ldap-search-stream.ts';
import { parseLdapSettings, type LdapSettings } from './ldap-settings.ts';

/** Grant DNs kept between a read-back and its act: a few batches' worth. */
const KEPT_FOR_ACTS = 10_000;

const PROVISIONS: readonly ChangeKind[] = [
  'create_account', 'enable_account', 'update_attributes', 'add_grant', 'remove_grant', 'disable_account', 'delete_account',
  'create_group', 'delete_group',
];

/** The member changes asked of one group in one turn go as one modify of it (ldap-member-batch.ts). */
const GATHERED: readonly ChangeKind[] = ['add_grant', 'remove_grant'];

/** What the root DSE says about the server: OpenLDAP names itself by object class, AD by host, domain and functional level. */
const ROOT_DSE_ATTRIBUTES = ['vendorName', 'vendorVersion', 'structuralObjectClass', 'dnsHostName', 'serverName', 'defaultNamingContext', 'namingContexts', 'domainControllerFunctionality', 'supportedLDAPVersion'];

export interface LdapConnector extends Connector {
  readonly settings: LdapSettings;
  readBackMany(changes: readonly Change[]): Promise<readonly (ReadBack | Error)[]>;
  apply(change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome>;
  server(): Promise<ServerInfo>;
  close(): Promise<void>;
}

/**
 * Creates the connector from raw settings (validated here; throws a ZodError
 * on bad settings). No connection is opened until first use.
 *
 * @example
 * const ldap = createLdapConnector({ system: 'corp-ldap', flavour: 'openldap', url: 'ldaps://ldap.corp:636',
 *   caPem, bindDn: 'cn=jml,dc=corp', bindPassword, baseDn: 'dc=corp', usersOu: 'ou=people,dc=corp', groupsOu: 'ou=groups,dc=corp' });
 * const { items, nextCursor } = await ldap.list('accounts', null);
 */
export function createLdapConnector(rawSettings: unknown): LdapConnector {
  const s = parseLdapSettings(rawSettings);
  const pool = createLdapPool(s);
  const directory = createDirectory(s, pool);
  const accountsRead = accountProjection(s);
  // A listing reads its pages through the lean decoder on a connection of its own (ldap-search-stream.ts).
  const lister = createPagedLister(async () => createSearchStream(await pool.dedicated(), s.timeoutMs));

  async function* searchPages<T>(stream: SearchStream, bases: readonly string[], options: SearchStreamOptions<T>) {
    for (const base of bases) {
      try {
        // Continuation references (AD's Configuration, DomainDnsZones…) are not entries: the stream skips them.
        yield* stream.pages(base, options);
      } catch (error) {
        if ((error as { code?: unknown }).code === 32 && base !== s.usersOu) continue;
        throw ldapError(error, 'search', base, s.system);
      }
    }
  }

  /**
   * AD returns at most 1,500 values of a big attribute per read (`member;range=0-1499`): fetch the
   * rest, over the pool (the listing's own connection is busy with its paged search).
   */
  async function allMembers(entry: Entry): Promise<string[]> {
    const ranged = Object.keys(entry).find((k) => /^member;range=/i.test(k));
    if (!ranged) return values(entry, 'member');
    const members = values(entry, ranged);
    let key = ranged;
    while (!/-\*$/.test(key)) {
      const end = Number(/-(\d+)$/.exec(key)?.[1]);
      const next = `member;range=${end + 1}-*`;
      const res = await pool.run('search', entry.dn, (c) => c.search(entry.dn, { scope: 'base', filter: '(objectClass=*)', attributes: [next] }));
      const e = res.searchEntries[0];
      const k = e && Object.keys(e).find((x) => /^member;range=/i.test(x));
      if (!e || !k) break;
      members.push(...values(e, k));
      key = k;
    }
    return members;
  }

  /**
   * The server is asked for pages of the configured size whatever size the caller wants
   * (reconcile asks for 500): fewer round trips; pagesOf re-cuts them to the caller's size.
   */
  function streams(kind: ListKind, pageSize: number) {
    return (stream: SearchStream): AsyncIterator<readonly unknown[]> => pagesOf(itemsOf(kind, s.pageSize, stream), pageSize);
  }

  function itemsOf(kind: ListKind, pageSize: number, stream: SearchStream): AsyncIterator<readonly unknown[]> {
    if (kind === 'accounts') {
      // Accounts are made straight from the decoded attributes: no entry object in between.
      return searchPages(stream, accountBases(s), { filter: userFilter(s), attributes: accountsRead.attributes, pageSize, project: accountsRead.project });
    }
    if (kind === 'entitlements') {
      const attributes = [s.groupNameAttribute, 'description'];
      const entry = toEntry(attributes);
      return searchPages(stream, [s.groupsOu], { filter: groupFilter(s), attributes, pageSize, project: (d) => toEntitlement(s, entry(d)) });
    }
    const attributes = [s.groupNameAttribute, 'member'];
    return (async function* () {
      for await (const entries of searchPages(stream, [s.groupsOu], { filter: groupFilter(s), attributes, pageSize, project: toEntry(attributes) })) {
        const grants = [];
        for (const e of entries) grants.push(...toGrants(s, e, await allMembers(e)));
        yield grants;
      }
    })();
  }

  /** Re-cuts batches into pages of exactly `size` items (the last may be shorter): one group can hold thousands of grants. */
  async function* pagesOf<T>(batches: AsyncIterator<readonly T[]>, size: number): AsyncGenerator<readonly T[]> {
    let buffer: T[] = [];
    for (;;) {
      const next = await batches.next();
      if (next.done) break;
      buffer.push(...next.value);
      while (buffer.length >= size) {
        yield buffer.slice(0, size);
        buffer = buffer.slice(size);
      }
    }
    if (buffer.length > 0) yield buffer;
  }

  function correlation(change: Change): string {
    const value = change.attributes?.[s.correlationAttribute];
    return typeof value === 'string' ? value : change.identityKey;
  }

  async function target(change: Change): Promise<Entry | null> {
    return directory.locate(change.accountId, correlation(change));
  }

  /**
   * The account DN a change's latest page read-back found, for each grant it did not find holding,
   * by change id: the grant's act that follows writes to it without looking the account up again.
   * Each is used once; batches read back side by side (several worker loops) keep each other's.
   */
  const foundForActs = new Map<string, string>();
  /** Grants acted on with such a DN, by change id: the read-back after checks the account is still at it. */
  const actedWith = new Map<string, string>();

  /**
   * An add_grant whose act wrote a DN the account no longer has (renamed, moved or deleted since the
   * read-back before) left a member naming nobody, or someone later created there: it goes again.
   * The change itself does not hold (its account is not at that DN), so the executor tries it again.
   */
  async function dropStaleMember(change: Change, located: Entry | null | Error | undefined): Promise<void> {
    const used = actedWith.get(change.id);
    if (used === undefined) return;
    actedWith.delete(change.id);
    if (change.kind !== 'add_grant' || located instanceof Error || (located && dnKey(located.dn) === dnKey(used))) return;
    await directory.removeMember(await directory.groupDn(entitlementOf(change)), used);
  }

  async function mustTarget(change: Change): Promise<Entry> {
    const entry = await target(change);
    if (!entry) {
      throw new JmlError('connector', `${s.system}: no account for ${change.identityKey}${change.accountId ? ` (${change.accountId})` : ''}`, {
        retryable: false, details: { system: s.system, changeId: change.id },
      });
    }
    return entry;
  }

  function entitlementOf(change: Change): string {
    if (!change.entitlement) throw new JmlError('invalid_input', `${change.kind} ${change.id} names no entitlement`);
    return change.entitlement;
  }

  function attributesHold(entry: Entry, wanted: NonNullable<Change['attributes']>): string | null {
    for (const [name, value] of Object.entries(wanted)) {
      if (name === 'password') continue; // write-only: never read back
      const have = values(entry, name).sort();
      const want = value === null ? [] : (typeof value === 'string' ? [value] : [...value]).sort();
      if (have.length !== want.length || have.some((v, i) => v !== want[i])) return name;
    }
    return null;
  }

  /**
   * `located`: the change's target as a batch read-back found it (null: absent); looked up here when not given.
   * `member`: for a grant, whether the batch found the account in the group; read here when not given.
   */
  async function readBackOf(change: Change, located?: Entry | null, member?: boolean): Promise<ReadBack> {
    const found = () => (located !== undefined ? Promise.resolve(located) : target(change));
    switch (change.kind) {
      case 'create_account': {
        const entry = await found();
        return entry ? { holds: true, accountId: entry.dn } : { holds: false, detail: 'no account yet' };
      }
      case 'delete_account': {
        const entry = await found();
        return entry ? { holds: false, accountId: entry.dn, detail: 'account still exists' } : { holds: true };
      }
      case 'enable_account':
      case 'disable_account': {
        const entry = located !== undefined ? (located ?? (await mustTarget(change))) : await mustTarget(change);
        const enabled = isEnabled(s, entry);
        return { holds: enabled === (change.kind === 'enable_account'), accountId: entry.dn, detail: enabled ? 'enabled' : 'disabled' };
      }
      case 'update_attributes': {
        const entry = await found();
        if (!entry) return { holds: false, detail: 'no account' };
        const wanted = change.attributes ?? {};
        const known = accountAttributes(s).map((a) => a.toLowerCase());
        const extra = Object.keys(wanted).filter((a) => a !== 'password' && !known.includes(a.toLowerCase()));
        const full = extra.length === 0
          ? entry
          : ((await pool.run('search', entry.dn, (c) => c.search(entry.dn, { scope: 'base', attributes: [...accountAttributes(s), ...extra] }))).searchEntries[0] ?? entry);
        const differs = attributesHold(full, wanted);
        return { holds: differs === null, accountId: entry.dn, ...(differs ? { detail: `${differs} differs` } : {}) };
      }
      case 'add_grant':
      case 'remove_grant': {
        const groupDn = await directory.groupDn(entitlementOf(change));
        const entry = await found();
        if (!entry) return { holds: change.kind === 'remove_grant', detail: 'no account' };
        const isMember = member ?? (await directory.isMember(groupDn, entry.dn));
        return { holds: isMember === (change.kind === 'add_grant'), accountId: entry.dn };
      }
      case 'create_group':
      case 'delete_group': {
        const dn = await directory.findGroup(entitlementOf(change));
        return { holds: (dn !== null) === (change.kind === 'create_group'), ...(dn ? { detail: dn } : {}) };
      }
      default:
        throw new JmlError('invalid_input', `${s.system} does not handle ${change.kind}`);
    }
  }

  /**
   * For the page's grants whose account was found: whether it is in the group, read for the
   * page at once (directory.membershipsOf). A grant whose group cannot be named is left out:
   * its own read-back reports that.
   */
  async function grantMemberships(changes: readonly Change[], targets: ReadonlyMap<Change, Entry | null | Error>): Promise<Map<Change, boolean>> {
    const grants: { readonly change: Change; readonly groupDn: string; readonly memberDn: string }[] = [];
    for (const change of changes) {
      const entry = targets.get(change);
      if ((change.kind !== 'add_grant' && change.kind !== 'remove_grant') || !entry || entry instanceof Error || !change.entitlement) continue;
      const groupDn = await directory.groupDn(change.entitlement).catch(() => null);
      if (groupDn !== null) grants.push({ change, groupDn, memberDn: entry.dn });
    }
    if (grants.length === 0) return new Map();
    const held = await directory.membershipsOf(grants);
    return new Map(grants.map((g, i) => [g.change, held[i]!]));
  }

  /** The password action a change asks for; a new secret must come with the change, from jml's credential delivery. */
  function passwordAction(change: Change, secrets: ChangeSecrets | undefined): PasswordAction | undefined {
    if (change.credential === 'scramble' && change.kind === 'disable_account') return { action: 'scramble' };
    if (change.credential !== 'new_secret' || change.kind === 'disable_account') return undefined;
    if (!secrets?.newSecret) {
      throw new JmlError('invalid_input', `${s.system}: ${change.kind} ${change.id} asks for a new password but none was issued for it`, {
        details: { system: s.system, changeId: change.id },
      });
    }
    return { action: 'reset', secret: secrets.newSecret };
  }

  async function applyChange(change: Change, secrets: ChangeSecrets | undefined): Promise<ChangeOutcome> {
    switch (change.kind) {
      case 'create_account': {
        // No search first: the executor reads back (by correlation) before it applies, and a
        // repeated create of the same change hits its own entry, which `create` accepts.
        const dn = await directory.create(change.attributes ?? {}, correlation(change), passwordAction(change, secrets));
        return { status: 'done', accountId: dn };
      }
      case 'update_attributes': {
        const dn = await directory.update(await mustTarget(change), change.attributes ?? {});
        return { status: 'done', accountId: dn };
      }
      case 'enable_account':
      case 'disable_account': {
        const dn = await directory.setEnabled(await mustTarget(change), change.kind === 'enable_account', passwordAction(change, secrets));
        return { status: 'done', accountId: dn };
      }
      case 'delete_account': {
        const entry = await target(change);
        if (entry) await directory.remove(entry);
        return { status: 'done', ...(entry ? { accountId: entry.dn } : { detail: 'already absent' }) };
      }
      case 'add_grant':
      case 'remove_grant': {
        const groupDn = await directory.groupDn(entitlementOf(change));
        const found = foundForActs.get(change.id);
        if (found !== undefined) {
          foundForActs.delete(change.id);
          try {
            if (change.kind === 'add_grant') await directory.addMember(groupDn, found);
            else await directory.removeMember(groupDn, found);
            actedWith.set(change.id, found);
            return { status: 'done', accountId: found };
          } catch {
            // The DN the read-back found was refused (a server that checks members, the entry gone): look the account up.
          }
        }
        const entry = await mustTarget(change).catch((error: unknown) => {
          if (change.kind === 'remove_grant' && error instanceof JmlError && !error.retryable) return null;
          throw error;
        });
        if (!entry) return { status: 'done', detail: 'no account, so no grant' };
        if (change.kind === 'add_grant') await directory.addMember(groupDn, entry.dn);
        else await directory.removeMember(groupDn, entry.dn);
        return { status: 'done', accountId: entry.dn };
      }
      case 'create_group': {
        const description = change.attributes?.description;
        const dn = await directory.createGroup(entitlementOf(change), typeof description === 'string' ? description : null);
        return { status: 'done', detail: dn };
      }
      case 'delete_group':
        await directory.deleteGroup(entitlementOf(change));
        return { status: 'done' };
      default:
        return { status: 'failed', retryable: false, message: `${s.system} does not handle ${change.kind}` };
    }
  }

  return {
    settings: s,
    describe(): ConnectorDescription {
      return { type: s.flavour === 'ad' ? 'ad' : 'ldap', provisions: PROVISIONS, manual: false, credentials: true, gathers: GATHERED };
    },

    async validate(): Promise<ValidationResult> {
      const problems: string[] = [];
      if (s.flavour === 'ad' && s.url.startsWith('ldap://') && !s.startTls) problems.push('Active Directory needs TLS (ldaps:// or StartTLS) for passwords');
      try {
        for (const base of [s.baseDn, s.usersOu, s.groupsOu, ...accountBases(s)]) {
          const found = await pool.run('search', base, (c) => c.search(base, { scope: 'base', attributes: ['1.1'] }).catch((e: unknown) => {
            if ((e as { code?: unknown }).code === 32) return { searchEntries: [] };
            throw e;
          }));
          if (found.searchEntries.length === 0) problems.push(`${base} does not exist`);
        }
      } catch (error) {
        problems.push(ldapError(error, 'validate', s.baseDn, s.system).message);
      }
      return { ok: problems.length === 0, problems: [...new Set(problems)] };
    },

    async server(): Promise<ServerInfo> {
      const { client, socket } = await pool.dedicated();
      try {
        const res = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ROOT_DSE_ATTRIBUTES });
        const entry = res.searchEntries[0];
        const identity: Record<string, string> = {};
        for (const name of ROOT_DSE_ATTRIBUTES) {
          const found = entry ? values(entry, name) : [];
          if (found.length > 0) identity[name] = found.join(', ');
        }
        return { identity, tls: tlsSessionOf(socket) };
      } catch (error) {
        throw ldapError(error, 'read of the root DSE', '(root DSE)', s.system);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },

    async list<K extends ListKind>(kind: K, cursor: string | null, pageSize?: number): Promise<Page<ListTypes[K]>> {
      const size = Math.min(Math.max(1, pageSize ?? s.pageSize), s.pageSize);
      const page = await lister.page(kind, cursor, streams(kind, size));
      return { items: page.items as readonly ListTypes[K][], nextCursor: page.nextCursor };
    },

    async readBack(change) {
      foundForActs.delete(change.id);
      if (actedWith.has(change.id)) await dropStaleMember(change, await target(change).catch((error: unknown) => error as Error));
      return readBackOf(change);
    },

    async readBackMany(changes: readonly Change[]): Promise<readonly (ReadBack | Error)[]> {
      // Every kind but the group ones reads its account: one look-up for the page (locateMany), then each change's own rule.
      const accountKinds = changes.filter((c) => c.kind !== 'create_group' && c.kind !== 'delete_group');
      const located = await directory.locateMany(accountKinds.map((c) => ({ accountId: c.accountId, correlation: correlation(c) })));
      const targets = new Map(accountKinds.map((c, i) => [c, located[i] ?? null]));
      const stale = await Promise.all(changes.map((c) => dropStaleMember(c, targets.get(c)).then(() => null, (error: unknown) => error)));
      const memberships = await grantMemberships(changes, targets);
      const answers = await Promise.all(changes.map(async (change, i): Promise<ReadBack | Error> => {
        const entry = targets.get(change);
        foundForActs.delete(change.id);
        if (entry instanceof Error) return entry;
        if (stale[i]) return stale[i] instanceof Error ? stale[i] : new Error(String(stale[i]));
        try {
          const answer = await readBackOf(change, entry, memberships.get(change));
          if (!answer.holds && entry && (change.kind === 'add_grant' || change.kind === 'remove_grant')) foundForActs.set(change.id, entry.dn);
          return answer;
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }));
      // A change read back but never acted on (another worker took it, the batch failed) leaves its DN: the oldest go.
      for (const kept of [foundForActs, actedWith]) {
        for (const id of kept.keys()) {
          if (kept.size <= KEPT_FOR_ACTS) break;
          kept.delete(id);
        }
      }
      return answers;
    },

    async apply(change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome> {
      try {
        return await applyChange(change, secrets);
      } catch (error) {
        return failedOutcome(error);
      }
    },

    async close() {
      await lister.close();
      await pool.close();
    },
  };
}
