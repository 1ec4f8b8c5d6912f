/**
 * The SCIM 2.0 connector (RFC 7643/7644): Users are accounts, Groups are
 * entitlements (named by displayName), group members are grants. Accounts jml
 * creates carry the identity key in the correlation attribute (externalId by
 * default), which is how a change without `accountId` finds its account.
 */
import type { Grant } from '../../domain/access.ts';
import type { Change, ChangeKind, ChangeOutcome } from '../../domain/change.ts';
import { JmlError, isJmlError } from '../../domain/errors.ts';
import type { Connector, EntitlementInfo, ListKind, ListTypes, Page, ReadBack, ServerInfo, ValidationResult } from '../connector.ts';
import { probeTls } from '../tls-session.ts';
import type { Secret } from '../secrets/secret.ts';
import { createScimClient, scimFailure } from './scim-client.ts';
import { decodeCursor, encodeCursor, equalsFilter } from './scim-filter.ts';
import { createMemberPatcher } from './scim-member-patch.ts';
import { PATCH_SCHEMA, differingPaths, replaceOperations, toAccount, toScimPaths, userResource, type ScimPatchOperation } from './scim-mapping.ts';
import { insecureHttpRefusal, scimSettingsSchema, type ScimSettings, type ScimSettingsInput } from './scim-settings.ts';

export interface ScimConnectorDeps {
  /** The system name changes and accounts carry. */
  readonly system: string;
  /** The bearer token from the secret store (bound to the host of baseUrl); overrides settings.token. */
  readonly token?: Secret;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Where the once-per-process plain-http warning goes; stderr by default. */
  readonly warn?: (message: string) => void;
}

const PROVISIONS: readonly ChangeKind[] = [
  'create_account', 'enable_account', 'disable_account', 'update_attributes', 'add_grant', 'remove_grant', 'delete_account', 'create_group', 'delete_group',
];
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

type Resource = Record<string, unknown> & { id: string };
interface ListResponse {
  readonly Resources: Resource[];
  readonly totalResults: number;
  readonly startIndex?: number;
}

/**
 * A connector for one SCIM service provider.
 * @example
 * const scim = createScimConnector({ baseUrl: 'https://app.example/scim/v2' }, { system: 'app', token: new Secret(t) });
 * const first = await scim.list('accounts', null, 100);
 */
export function createScimConnector(input: ScimSettingsInput, deps: ScimConnectorDeps): Connector & { readonly settings: ScimSettings } {
  const settings = scimSettingsSchema.parse(input);
  const { system } = deps;
  const token = deps.token ?? settings.token;
  if (!token) throw new JmlError('invalid_input', `system ${system}: the scim connector needs a bearer token (enter it in the secret store)`, { details: { system } });
  const client = createScimClient(settings, system, { ...deps, token });
  const correlation = settings.correlationAttribute;
  const memberPatches = createMemberPatcher(client);

  async function get<T>(path: string): Promise<T> {
    return (await client.request('GET', path)).body as T;
  }

  async function search(resource: 'Users' | 'Groups', filter: string, attributes?: string): Promise<Resource[]> {
    const query = new URLSearchParams({ filter });
    if (attributes) query.set('attributes', attributes);
    return (await get<ListResponse>(`/${resource}?${query}`)).Resources ?? [];
  }

  /** The single resource matching a filter, null for none; two or more is a dispute a person must settle. */
  async function findOne(resource: 'Users' | 'Groups', filter: string, what: string, attributes?: string): Promise<Resource | null> {
    const found = await search(resource, filter, attributes);
    if (found.length > 1) throw new JmlError('conflict', `scim ${system}: ${found.length} ${resource.toLowerCase()} match ${what}; resolve the duplicate first`, { details: { system } });
    return found[0] ?? null;
  }

  async function getUser(accountId: string): Promise<Resource | null> {
    try {
      return await get<Resource>(`/Users/${encodeURIComponent(accountId)}`);
    } catch (error) {
      if (scimFailure(error).status === 404) return null;
      throw error;
    }
  }

  /** The account a change targets: its accountId, or the one correlated to its identity. */
  async function targetUser(change: Change): Promise<Resource | null> {
    if (change.accountId) return getUser(change.accountId);
    return findOne('Users', equalsFilter(correlation, change.identityKey), `${correlation} of identity ${change.identityKey}`);
  }

  async function findGroup(displayName: string): Promise<Resource | null> {
    return findOne('Groups', equalsFilter('displayName', displayName), `group ${displayName}`, 'displayName');
  }

  async function isMember(groupId: string, accountId: string): Promise<boolean> {
    const group = await get<Resource>(`/Groups/${encodeURIComponent(groupId)}?attributes=members`);
    const members = (group.members as { value?: unknown }[] | undefined) ?? [];
    return members.some((m) => m.value === accountId);
  }

  async function patch(resource: 'Users' | 'Groups', id: string, operations: readonly ScimPatchOperation[]): Promise<void> {
    await client.request('PATCH', `/${resource}/${encodeURIComponent(id)}`, { schemas: [PATCH_SCHEMA], Operations: operations });
  }

  async function listPage(path: string, startIndex: number, pageSize: number | undefined, attributes?: string): Promise<ListResponse> {
    const query = new URLSearchParams({ startIndex: String(startIndex) });
    if (pageSize !== undefined) query.set('count', String(pageSize));
    if (attributes) query.set('attributes', attributes);
    const page = await get<ListResponse>(`${path}?${query}`);
    // A provider that ignores startIndex would hand out page one forever.
    if (page.startIndex !== undefined && page.startIndex !== startIndex) {
      throw new JmlError('connector', `scim ${system}: asked for startIndex ${startIndex}, got ${page.startIndex}; the provider does not page`, { details: { system } });
    }
    return { ...page, Resources: page.Resources ?? [] };
  }

  function after(startIndex: number, page: ListResponse): number | null {
    const next = startIndex + page.Resources.length;
    return page.Resources.length === 0 || next > page.totalResults ? null : next;
  }

  async function listAccounts(cursor: string | null, pageSize?: number): Promise<Page<ListTypes['accounts']>> {
    const { startIndex } = decodeCursor('accounts', cursor);
    const page = await listPage('/Users', startIndex, pageSize);
    const next = after(startIndex, page);
    return { items: page.Resources.map((u) => toAccount(system, u)), nextCursor: next === null ? null : encodeCursor({ kind: 'accounts', startIndex: next, memberOffset: 0 }) };
  }

  async function listEntitlements(cursor: string | null, pageSize?: number): Promise<Page<EntitlementInfo>> {
    const { startIndex } = decodeCursor('entitlements', cursor);
    const page = await listPage('/Groups', startIndex, pageSize, 'displayName');
    const next = after(startIndex, page);
    const items = page.Resources.map((g) => {
      const name = String(g.displayName ?? g.id);
      return { system, entitlement: name, displayName: name, type: 'group' };
    });
    return { items, nextCursor: next === null ? null : encodeCursor({ kind: 'entitlements', startIndex: next, memberOffset: 0 }) };
  }

  /** Grants are group members, walked group by group; the cursor remembers the group and the member offset within it. */
  async function listGrants(cursor: string | null, pageSize?: number): Promise<Page<Grant>> {
    const position = decodeCursor('grants', cursor);
    const page = await listPage('/Groups', position.startIndex, pageSize, 'displayName,members');
    const limit = pageSize ?? Number.POSITIVE_INFINITY;
    const items: Grant[] = [];
    for (const [index, group] of page.Resources.entries()) {
      const members = ((group.members as { value?: unknown }[] | undefined) ?? []).filter((m) => typeof m.value === 'string');
      const from = index === 0 ? position.memberOffset : 0;
      for (let m = from; m < members.length; m++) {
        if (items.length >= limit) {
          return { items, nextCursor: encodeCursor({ kind: 'grants', startIndex: position.startIndex + index, memberOffset: m }) };
        }
        items.push({ system, accountId: members[m]!.value as string, entitlement: String(group.displayName ?? group.id) });
      }
    }
    const next = after(position.startIndex, page);
    return { items, nextCursor: next === null ? null : encodeCursor({ kind: 'grants', startIndex: next, memberOffset: 0 }) };
  }

  async function readBack(change: Change): Promise<ReadBack> {
    switch (change.kind) {
      case 'create_account': {
        const user = await targetUser({ ...change, accountId: undefined });
        return user ? { holds: true, accountId: user.id } : { holds: false, detail: 'no account carries this identity' };
      }
      case 'enable_account':
      case 'disable_account': {
        const user = await targetUser(change);
        if (!user) return change.kind === 'disable_account' ? { holds: true, detail: 'no account exists to be enabled' } : { holds: false, detail: 'no account' };
        const enabled = user.active !== false;
        return { holds: enabled === (change.kind === 'enable_account'), accountId: user.id, detail: `active=${enabled}` };
      }
      case 'delete_account': {
        const user = await targetUser(change);
        return user ? { holds: false, accountId: user.id, detail: 'the account still exists' } : { holds: true };
      }
      case 'update_attributes': {
        const user = await targetUser(change);
        if (!user) return { holds: false, detail: 'no account' };
        const { paths } = toScimPaths(change.attributes ?? {}, correlation);
        const differs = differingPaths(paths, toAccount(system, user));
        return { holds: differs.length === 0, accountId: user.id, ...(differs.length ? { detail: `differs: ${differs.join(', ')}` } : {}) };
      }
      case 'add_grant':
      case 'remove_grant': {
        const wanted = change.kind === 'add_grant';
        const user = await targetUser(change);
        const group = change.entitlement ? await findGroup(change.entitlement) : null;
        if (!user || !group) return { holds: !wanted, detail: !user ? 'no account' : `no group ${change.entitlement}` };
        return { holds: (await isMember(group.id, user.id)) === wanted, accountId: user.id };
      }
      case 'create_group':
      case 'delete_group': {
        const group = change.entitlement ? await findGroup(change.entitlement) : null;
        return { holds: (group !== null) === (change.kind === 'create_group'), ...(group ? { detail: `group ${group.id}` } : {}) };
      }
      default:
        return { holds: false, detail: `the scim connector does not carry out ${change.kind}` };
    }
  }

  /** Groups are named by displayName (SCIM core Groups have no description). Only an empty group is deleted. */
  async function carryOutGroup(change: Change): Promise<ChangeOutcome> {
    const name = change.entitlement;
    if (!name) return terminal(`${change.kind} needs a group name`);
    const existing = await findGroup(name);
    if (change.kind === 'create_group') {
      if (existing) return { status: 'done', detail: 'the group already exists' };
      try {
        await client.request('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: name });
      } catch (error) {
        if (scimFailure(error).status !== 409 || !(await findGroup(name))) throw error;
      }
      return { status: 'done' };
    }
    if (!existing) return { status: 'done', detail: 'the group does not exist' };
    const members = ((await get<Resource>(`/Groups/${encodeURIComponent(existing.id)}?attributes=members`)).members as unknown[] | undefined) ?? [];
    if (members.length > 0) return terminal(`group ${JSON.stringify(name)} still has ${members.length} member(s); jml deletes only empty groups`);
    try {
      await client.request('DELETE', `/Groups/${encodeURIComponent(existing.id)}`);
    } catch (error) {
      if (scimFailure(error).status !== 404) throw error;
    }
    return { status: 'done' };
  }

  async function create(change: Change): Promise<ChangeOutcome> {
    const existing = await targetUser({ ...change, accountId: undefined });
    if (existing) return { status: 'done', accountId: existing.id, detail: 'the account already exists' };
    const { paths, rejected } = toScimPaths(change.attributes ?? {}, correlation);
    if (rejected.length > 0) return terminal(`attributes jml cannot set in scim: ${rejected.join(', ')}`);
    const userName = paths.get('userName');
    if (typeof userName !== 'string' || userName === '') return terminal('create_account needs a userName (or user_name) attribute');
    const taken = await findOne('Users', equalsFilter('userName', userName), `userName ${userName}`);
    if (taken) return terminal(`userName ${JSON.stringify(userName)} belongs to account ${taken.id}, which is not correlated to identity ${change.identityKey}`);
    try {
      const created = await client.request('POST', '/Users', userResource(paths, correlation, change.identityKey));
      return { status: 'done', accountId: String((created.body as Resource).id) };
    } catch (error) {
      if (scimFailure(error).status !== 409) throw error;
      // Someone (or an earlier attempt of ours) created it between look-up and POST.
      const now = await targetUser({ ...change, accountId: undefined });
      if (now) return { status: 'done', accountId: now.id, detail: 'created concurrently' };
      return terminal(`userName ${JSON.stringify(userName)} is already taken in ${system}`);
    }
  }

  async function carryOut(change: Change): Promise<ChangeOutcome> {
    if (change.kind === 'create_account') return create(change);
    if (change.kind === 'create_group' || change.kind === 'delete_group') return carryOutGroup(change);
    const user = await targetUser(change);
    switch (change.kind) {
      case 'enable_account':
      case 'disable_account': {
        if (!user) return change.kind === 'disable_account' ? { status: 'done', detail: 'no account to disable' } : terminal('no account to enable');
        await patch('Users', user.id, [{ op: 'replace', path: 'active', value: change.kind === 'enable_account' }]);
        return { status: 'done', accountId: user.id };
      }
      case 'delete_account': {
        if (!user) return { status: 'done', detail: 'the account does not exist' };
        try {
          await client.request('DELETE', `/Users/${encodeURIComponent(user.id)}`);
        } catch (error) {
          if (scimFailure(error).status !== 404) throw error;
        }
        return { status: 'done', accountId: user.id };
      }
      case 'update_attributes': {
        if (!user) return terminal('no account to update');
        const { paths, rejected } = toScimPaths(change.attributes ?? {}, correlation);
        if (rejected.length > 0) return terminal(`attributes jml cannot set in scim: ${rejected.join(', ')}`);
        if (paths.size > 0) await patch('Users', user.id, replaceOperations(paths));
        return { status: 'done', accountId: user.id };
      }
      case 'add_grant':
      case 'remove_grant': {
        if (!change.entitlement) return terminal(`${change.kind} needs an entitlement`);
        const group = await findGroup(change.entitlement);
        if (change.kind === 'remove_grant') {
          if (!user || !group) return { status: 'done', detail: 'nothing to remove' };
          await memberPatches.change(group.id, 'remove', user.id);
          return { status: 'done', accountId: user.id };
        }
        if (!group) return terminal(`${system} has no group ${JSON.stringify(change.entitlement)}`);
        if (!user) return terminal('no account to grant to');
        // Not every provider de-duplicates members on add (SCIMMY appends), so look first.
        if (!(await isMember(group.id, user.id))) await memberPatches.change(group.id, 'add', user.id);
        return { status: 'done', accountId: user.id };
      }
      default:
        return terminal(`the scim connector does not carry out ${change.kind}`);
    }
  }

  return {
    settings,
    describe: () => ({ type: 'scim', provisions: PROVISIONS, manual: false }),

    async validate(): Promise<ValidationResult> {
      const problems: string[] = [];
      const refusal = insecureHttpRefusal(settings.baseUrl, settings.allowInsecureHttp);
      if (refusal) return { ok: false, problems: [refusal] };
      try {
        await get('/ServiceProviderConfig');
      } catch (error) {
        const { status } = scimFailure(error);
        if (status === 401 || status === 403) problems.push(`${system}: the bearer token was refused (${status}); enter it again`);
        else problems.push((error as Error).message);
      }
      return { ok: problems.length === 0, problems };
    },

    async server(): Promise<ServerInfo> {
      const refusal = insecureHttpRefusal(settings.baseUrl, settings.allowInsecureHttp);
      if (refusal) throw new JmlError('invalid_input', `${system}: ${refusal}`, { details: { system } });
      let tls: ServerInfo['tls'] = null;
      if (settings.baseUrl.startsWith('https:')) {
        try {
          tls = await probeTls(settings.baseUrl, { timeoutMs: settings.timeoutMs });
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? '';
          const unreachable = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
          throw new JmlError('connector', `scim ${system}: ${unreachable ? 'server unreachable' : 'TLS could not be established'}: ${(error as Error).message}`, {
            cause: error, retryable: unreachable, details: { system, ...(unreachable ? { unreachable: true } : { tls: true }) },
          });
        }
      }
      const config = await get<Record<string, unknown>>('/ServiceProviderConfig');
      const supported = (name: string) => (config[name] as { supported?: unknown } | undefined)?.supported;
      const identity: Record<string, string> = {};
      const schemes = Array.isArray(config.authenticationSchemes) ? config.authenticationSchemes.map((a: { name?: unknown; type?: unknown }) => String(a.name ?? a.type)).join(', ') : '';
      if (schemes) identity.authenticationSchemes = schemes;
      for (const feature of ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag']) {
        if (supported(feature) !== undefined) identity[feature] = supported(feature) ? 'supported' : 'not supported';
      }
      if (typeof config.documentationUri === 'string') identity.documentationUri = config.documentationUri;
      return { identity, tls };
    },

    async list<K extends ListKind>(kind: K, cursor: string | null, pageSize?: number): Promise<Page<ListTypes[K]>> {
      if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1)) throw new JmlError('invalid_input', `pageSize must be a positive integer, got ${pageSize}`);
      const page = kind === 'accounts' ? listAccounts(cursor, pageSize) : kind === 'entitlements' ? listEntitlements(cursor, pageSize) : listGrants(cursor, pageSize);
      return (await page) as Page<ListTypes[K]>;
    },

    readBack,

    async apply(change: Change): Promise<ChangeOutcome> {
      try {
        return await carryOut(change);
      } catch (error) {
        if (!isJmlError(error)) throw error;
        const { status, retryAfterMs } = scimFailure(error);
        // No status: the request may or may not have reached the provider. The contract says throw, so the caller reads back first.
        if (error.code === 'connector' && status === null && error.retryable) throw error;
        return {
          status: 'failed',
          retryable: error.retryable,
          message: error.message,
          ...(retryAfterMs !== null ? { retryAfterMs } : {}),
        };
      }
    },
  };
}

function terminal(message: string): ChangeOutcome {
  return { status: 'failed', retryable: false, message };
}
