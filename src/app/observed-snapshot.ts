/**
 * The observed state the plan reads: for each system, the accounts, grants and
 * links of its latest completed reconcile run. Rows come ordered by account id
 * (byte order, identical on both backends) for accounts and grants alike, so
 * the engine pairs them with its merge walk instead of hashing every grant.
 */
import { sql, type Kysely } from 'kysely';
import type { Account, Grant } from '../domain/access.ts';
import { accountGrantsBuilder, NO_GRANTS } from '../engine/account-grants.ts';
import type { ObservedSystem } from '../engine/index.ts';
import { detached, forEachCopiedRow, type CopiedRow } from '../store/copy-read.ts';
import type { Database } from '../store/database.ts';
import { byteOrder, compareByteOrder } from '../store/byte-order.ts';

type Db = Kysely<Database>;

export interface SnapshotRun {
  readonly runId: string;
  readonly system: string;
  readonly finishedAt: Date;
  /** `apply`: the system was never reconciled; the snapshot holds only what apply confirmed. */
  readonly origin: 'reconcile' | 'apply';
}

/** The latest completed reconcile run of each system (of `systems` when given). */
export async function latestRuns(db: Db, systems?: readonly string[]): Promise<Map<string, SnapshotRun>> {
  if (systems && systems.length === 0) return new Map();
  let query = db
    .selectFrom('reconcile_runs')
    .select(['id', 'system', 'finished_at', 'summary'])
    .where('status', '=', 'completed')
    .orderBy('system')
    .orderBy('finished_at', 'desc');
  if (systems) query = query.where('system', 'in', systems);
  const runs = new Map<string, SnapshotRun>();
  for (const row of await query.execute()) {
    if (runs.has(row.system)) continue;
    const origin = row.summary?.origin === 'apply' ? 'apply' : 'reconcile';
    runs.set(row.system, { runId: row.id, system: row.system, finishedAt: row.finished_at!, origin });
  }
  return runs;
}

/**
 * Accounts and grants of one run, in account order, grants grouped by account
 * (`accountGrants`): no object per grant. Strings that repeat — an identity's
 * name, mail or key in each of its systems, attribute values — are shared
 * through `strings`, which a caller may pass to share them across runs. With
 * `attributesRead`, each account carries only those attributes (those it has).
 * Rows are read as COPY text, each built as it arrives (src/store/copy-read.ts), in one transaction:
 * each account with its grants in one row (runSnapshotQuery), or, when that row
 * cannot say them exactly, accounts and grants apart.
 */
export async function loadRun(db: Db, run: SnapshotRun, strings: SharedStrings = sharedStrings(), attributesRead?: readonly string[]): Promise<ObservedSystem> {
  if (!db.isTransaction) return db.transaction().execute((trx) => loadRun(trx, run, strings, attributesRead));
  const { accounts, linkedKeys, accountGrants, unlistedGrants } = (await loadFolded(db, run, strings, attributesRead)) ?? (await loadApart(db, run, strings, attributesRead));
  // Groups listed by the connector (and those jml created since): a group without members exists too.
  const entitlementRows = await db.selectFrom('observed_entitlements').select('entitlement').where('run_id', '=', run.runId).orderBy(byteOrder('entitlement')).execute();
  return {
    system: run.system, accounts, accountGrants, linkedKeys,
    ...(unlistedGrants.length > 0 ? { unlistedGrants } : {}),
    entitlements: entitlementRows.map((r) => r.entitlement),
  };
}

/**
 * A run's accounts in byte order of account id: the primary key's order (its
 * columns are collated "C", migration 0042), so the server reads them in order
 * instead of sorting them.
 */
export function runAccountsQuery(db: Db, runId: string, attributesRead?: readonly string[]) {
  return db
    .selectFrom('observed_accounts')
    .select(['account_id', 'name', 'enabled', 'last_login_at', 'identity_key', 'situation'])
    // As text: an identity's accounts mostly carry the same attributes, parsed once (SharedStrings.attributes).
    .select(attributesRead ? attributeColumns(attributesRead) : [sql<string | null>`attributes::text`.as('attribute_0')])
    .where('run_id', '=', runId)
    .orderBy(byteOrder('account_id'));
}

/**
 * Each of `fields` as a column of its own: the attribute's JSON text, or NULL when the account
 * lacks it (a JSON null is the text `null`: a plan tells them apart). Attributes no one reads are
 * neither sent nor parsed. A field's value taken out of the JSONB as it is, not built into a new
 * JSONB first: measured on one system of 494,879 accounts, 0.98-1.10 s of the server's time for
 * the whole read against 1.40-1.82 s (psql, COPY to /dev/null, three rounds).
 */
function attributeColumns(fields: readonly string[]) {
  // Typed as one name: the rows are read as COPY text by position, never by a column's name.
  return fields.map((field, i) => sql<string | null>`(attributes -> ${field}::text)::text`.as(`attribute_${i}` as 'attribute_0'));
}

/** A run's grants in byte order of account id, then entitlement: the primary key's order, as runAccountsQuery. */
export function runGrantsQuery(db: Db, runId: string) {
  return db
    .selectFrom('observed_grants')
    .select(['account_id', 'entitlement'])
    .where('run_id', '=', runId)
    .orderBy(byteOrder('account_id'))
    .orderBy(byteOrder('entitlement'));
}

/** Separates the entitlements of one account in runSnapshotQuery's rows: a control character no group name is expected to hold. */
const GRANT_SEPARATOR = '\u0001';

/**
 * A run's accounts, each with its grants, in byte order of account id: runAccountsQuery's
 * columns, then the account's entitlements joined by GRANT_SEPARATOR and how many
 * they are (NULL for an account holding none). A grant naming an account the run
 * does not list comes as a row of its own, its account's columns NULL but the id.
 *
 * Both sides are read from their primary key's index in account order and merged
 * (a merge full join; FOLDED_READ rules out the hash join, which would scramble the
 * order): one row per account instead of one more per grant. At 500,000 people that
 * is 9.7 million rows fewer for jml to take apart (7-10 s of its CPU); the server's merge
 * and grouping cost it ~0.4 s more than two reads for a system of 494,879 accounts (some
 * 7 s a plan), which reading attributes as columns (attributeColumns) gave back.
 */
export function runSnapshotQuery(db: Db, runId: string, attributesRead?: readonly string[]) {
  // OFFSET 0 keeps the accounts a subquery of their own, so their index's order is known above it.
  const accounts = runAccountsQuery(db, runId, attributesRead).offset(0);
  const grants = db
    .selectFrom('observed_grants')
    .select('account_id')
    .select(sql<string>`string_agg(entitlement, chr(1))`.as('entitlements'))
    .select(sql<string>`count(*)`.as('grants'))
    .where('run_id', '=', runId)
    .groupBy('account_id');
  return db
    .selectFrom(accounts.as('a'))
    .fullJoin(grants.as('g'), 'g.account_id', 'a.account_id')
    .select(sql<string>`coalesce(a.account_id, g.account_id)`.as('account_id'))
    .select(['a.name', 'a.enabled', 'a.last_login_at', 'a.identity_key', 'a.situation'])
    .select((attributesRead ?? ['']).map((_, i) => sql.ref(`a.attribute_${i}`).as(`attribute_${i}` as 'attribute_0')))
    .select(['g.entitlements', 'g.grants']);
}

/** What runSnapshotQuery needs of the planner: a merge join, in account order (a full join is a merge or a hash join). */
export const FOLDED_READ: Readonly<Record<string, string>> = { enable_hashjoin: 'off' };

/** A run's accounts, their links and their grants. */
interface RunRead {
  readonly accounts: Account[];
  readonly linkedKeys: (string | null)[];
  readonly accountGrants: (readonly string[])[];
  readonly unlistedGrants: Grant[];
}

/**
 * The run read with runSnapshotQuery; null when its rows cannot say the grants exactly
 * (an entitlement holding GRANT_SEPARATOR) or did not come in account order. Exported for
 * its tests (loadRun falls back to loadApart on null, which gives the same snapshot).
 */
export async function loadFolded(db: Db, run: SnapshotRun, strings: SharedStrings, attributesRead?: readonly string[]): Promise<RunRead | null> {
  const built = accountsBuilder(run, strings, attributesRead);
  const columns = built.columns + 2;
  const accountGrants: (readonly string[])[] = [];
  const unlistedGrants: Grant[] = [];
  const listOf = grantLists(strings.share);
  let previous: string | null = null;
  let exact = true;
  await forEachCopiedRow(db, runSnapshotQuery(db, run.runId, attributesRead), (row) => {
    if (!exact) return;
    if (row.length !== columns) throw new Error(`observed accounts: a row of ${row.length} columns, ${columns} expected`);
    const accountId = row[0]!;
    const text = row[columns - 2] ?? null;
    const list = text === null ? NO_GRANTS : listOf(text, Number(row[columns - 1]));
    // A guard against another plan's order.
    const inOrder = previous === null || compareByteOrder(previous, accountId) < 0;
    if (list === null || !inOrder) {
      exact = false;
      return;
    }
    previous = accountId;
    // No account, only grants naming it (an account's name is never NULL).
    if (row[1] === null) {
      for (const entitlement of list) unlistedGrants.push({ system: run.system, accountId: detached(accountId)!, entitlement });
      return;
    }
    built.add(row);
    accountGrants.push(list);
  }, FOLDED_READ);
  return exact ? { accounts: built.accounts, linkedKeys: built.linkedKeys, accountGrants, unlistedGrants } : null;
}

/**
 * Each account's grant list from its joined text, parsed once per text: most accounts of a
 * system hold one of a few combinations, which they share as one frozen array, in byte order.
 * Null when the text splits into more names than the grants counted (a name holding the separator).
 */
function grantLists(share: (value: string) => string): (text: string, count: number) => readonly string[] | null {
  const lists = new Map<string, readonly string[]>();
  return (text, count) => {
    const known = lists.get(text);
    if (known !== undefined) return known.length === count ? known : null;
    const parts = text.split(GRANT_SEPARATOR);
    if (parts.length !== count) return null;
    // Names through the shared pool, which keeps them detached from their row's line; the text kept detached too.
    const list = Object.freeze(parts.map((name) => share(name)).sort(compareByteOrder));
    if (lists.size < GRANT_LISTS_KEPT) lists.set(detached(text)!, list);
    return list;
  };
}

/** Distinct grant lists kept per system; past this, a list not yet seen is parsed for its account alone. */
const GRANT_LISTS_KEPT = 100_000;

/** The run read with runAccountsQuery and runGrantsQuery, one after the other. */
async function loadApart(db: Db, run: SnapshotRun, strings: SharedStrings, attributesRead?: readonly string[]): Promise<RunRead> {
  const built = accountsBuilder(run, strings, attributesRead);
  await forEachCopiedRow(db, runAccountsQuery(db, run.runId, attributesRead), (row) => {
    if (row.length !== built.columns) throw new Error(`observed accounts: a row of ${row.length} columns, ${built.columns} expected`);
    built.add(row);
  });
  const { accountGrants, unlistedGrants } = await loadGrants(db, run, built.accounts);
  return { accounts: built.accounts, linkedKeys: built.linkedKeys, accountGrants, unlistedGrants };
}

/**
 * The run's accounts and the identity each is linked to, from rows whose first
 * `columns` are runAccountsQuery's (with the same `attributesRead`), in the order they are added.
 */
function accountsBuilder(run: SnapshotRun, strings: SharedStrings, attributesRead?: readonly string[]) {
  const accounts: Account[] = [];
  const linkedKeys: (string | null)[] = [];
  const identityOf = strings.inOrder();
  const fields = attributesRead?.length ?? 1;
  const names = attributesRead ? strings.fieldList(attributesRead) : null;
  return {
    accounts,
    linkedKeys,
    columns: 6 + fields,
    add(row: CopiedRow): void {
      const [accountId, name, enabled, lastLoginAt, identityKey, situation] = row as [string, string, string, string | null, string | null, string];
      const near = identityKey === null ? null : identityOf(identityKey);
      // The id cut from the row's line would keep the whole line (attributes, grants) alive with the account.
      const r = { account_id: detached(accountId)!, enabled: enabled === 't', last_login_at: detached(lastLoginAt) };
      const attributes = names ? (near ?? strings).fields(names, fieldsText(row, fields)) : (near ?? strings).attributes(row[6]!);
      accounts.push(observedAccount(run.system, r, near ? near.share(name) : strings.share(name), attributes));
      // Only settled links: a disputed or unmatched account links nobody.
      const settled = near !== null && (situation === 'linked' || situation === 'unlinked');
      linkedKeys.push(settled ? near.key : null);
    },
  };
}

/** What stands for an absent attribute in fieldsText: no JSON text reads so. */
const ABSENT = '\\N';

/**
 * The attribute columns of a row as one text, the key an identity's accounts share parsed
 * attributes by: each field's JSON text, ABSENT when the account lacks it, joined by tabs
 * (JSON text holds no raw tab). One field's is its own text, unjoined.
 */
function fieldsText(row: CopiedRow, fields: number): string {
  if (fields === 1) return row[6] ?? ABSENT;
  let text = '';
  for (let i = 0; i < fields; i++) text += (i === 0 ? '' : '\t') + (row[6 + i] ?? ABSENT);
  return text;
}

/**
 * The run's grants grouped by account, in byte order of entitlement within each. The builder is sized for
 * two grants per account and grows by doubling past that: the grants were counted first once, a parallel
 * index scan per system that cost the server ~0.4 s of CPU for each of 20 systems at 500,000 people.
 */
async function loadGrants(db: Db, run: SnapshotRun, accounts: readonly Account[]) {
  const query = runGrantsQuery(db, run.runId);
  const builder = accountGrantsBuilder(accounts, 2 * accounts.length);
  const unlistedGrants: Grant[] = [];
  await forEachCopiedRow(db, query, (row) => {
    const [accountId, entitlement] = row as [string, string];
    if (!builder.add(accountId, entitlement)) unlistedGrants.push({ system: run.system, accountId, entitlement });
  });
  return { accountGrants: builder.build(), unlistedGrants };
}

/** One copy of each repeated string: the same value read in many rows is kept once. */
export interface SharedStrings {
  share(value: string): string;
  /**
   * The strings of one identity's accounts: its key (shared), and a `share` that
   * finds a value again among those its other accounts had, by comparison.
   */
  of(identityKey: string): StringsOf;
  /**
   * `of` for one listing whose accounts mostly come in the order their identities were
   * first met (a run's accounts by account id, which usually sorts like identity keys):
   * each identity is looked for first among the few met after the previous account's.
   */
  inOrder(): (identityKey: string) => StringsOf;
  /**
   * One array for each list of field names, whichever system reads it: `fields` tells lists apart by
   * reference, and an identity's accounts in systems reading the same fields share parsed attributes.
   */
  fieldList(names: readonly string[]): readonly string[];
  /** Attributes read as JSON text, parsed, string values shared, frozen. */
  attributes(text: string): Account['attributes'];
  /** Attributes read as the named fields' texts (fieldsText), parsed, string values shared, frozen. */
  fields(names: readonly string[], text: string): Account['attributes'];
}

/** The strings met on one identity's accounts. */
export interface StringsOf {
  readonly key: string;
  share(value: string): string;
  /**
   * Attributes read as JSON text, frozen: the same text on another of the identity's accounts
   * gives the same object (at 500,000 people, 7 million accounts and one or two texts per person).
   */
  attributes(text: string): Account['attributes'];
  /**
   * `attributes` for the named fields' texts (fieldsText). `names` comes from SharedStrings.fieldList: the
   * same text read with another list (another system's fields) is parsed apart.
   */
  fields(names: readonly string[], text: string): Account['attributes'];
}

/** Strings kept per identity for comparison; past this, values are looked up in the whole pool. */
const STRINGS_PER_IDENTITY = 8;

/**
 * Attribute texts (each with the field names it was read for) kept per identity for comparison; past
 * this, a text new to the identity is parsed each time, which costs time only.
 */
const ATTRIBUTES_PER_IDENTITY = 4;

/**
 * How many identities past the previous account's `inOrder` looks at before the map. A
 * system most people have no account in skips several between two of its accounts: at
 * 100,000 people (1.4 M accounts, 100,000 of them an identity's first) 188,511 lookups
 * went to the map with 4, 99,309 with 16.
 */
const LOOK_AHEAD = 16;

/**
 * A pool of shared strings, for one load. An identity's name, mail and key repeat
 * on each of its accounts: they are found by comparing with the few strings its
 * other accounts had, and only a value new to that identity is looked up in the
 * whole pool (at 500,000 people, one lookup per value in a pool of millions cost
 * 13 s of a plan's CPU, measured).
 *
 * Identities are kept in the order they were first met too, for `inOrder`: a lookup
 * in the map of 500,000 identities mostly misses the processor's cache, where the few
 * identities after the previous account's were just read.
 */
export function sharedStrings(): SharedStrings {
  const pool = new Map<string, string>();
  const share = (value: string): string => {
    const known = pool.get(value);
    if (known !== undefined) return known;
    // A value cut from a row's line would keep the line alive as long as the pool.
    const kept = detached(value)!;
    pool.set(kept, kept);
    return kept;
  };
  const identities = new Map<string, IdentityStrings>();
  const met: IdentityStrings[] = [];
  const fieldLists = new Map<string, readonly string[]>();
  const of = (identityKey: string): IdentityStrings => {
    const known = identities.get(identityKey);
    if (known) return known;
    const strings = new IdentityStrings(share(identityKey), share, met.length);
    identities.set(strings.key, strings);
    met.push(strings);
    return strings;
  };
  return {
    share,
    of,
    fieldList(names) {
      const key = JSON.stringify(names);
      let list = fieldLists.get(key);
      if (!list) fieldLists.set(key, (list = Object.freeze([...names])));
      return list;
    },
    inOrder() {
      let previous = -1;
      let misses = 0;
      let seen = 0;
      return (identityKey) => {
        seen += 1;
        // Guess while guesses mostly hit: accounts listed in another order go straight to the map.
        if (misses * 8 <= seen && previous + 1 < met.length) {
          const last = Math.min(previous + LOOK_AHEAD, met.length - 1);
          for (let p = previous + 1; p <= last; p++) if (met[p]!.key === identityKey) return met[(previous = p)]!;
          misses += 1;
        }
        const strings = of(identityKey);
        previous = strings.position;
        return strings;
      };
    },
    attributes: (text) => parsedAttributes(text, share),
    fields: (names, text) => parsedFields(names, text, share),
  };
}

/**
 * One identity's strings: a class, its methods shared by the 500,000 of a large
 * load (an object of two closures and three arrays per identity: 560 MiB for the
 * strings of 500,000 identities and their pool, against 400 MiB, measured).
 */
class IdentityStrings implements StringsOf {
  readonly key: string;
  /** Where the identity stands in the order identities were first met (SharedStrings.inOrder). */
  readonly position: number;
  readonly #pool: (value: string) => string;
  readonly #seen: string[];
  /**
   * Texts, the field names they were read with (null: all of them, the text a whole object) and the
   * objects parsed from them, in turn: [text, names, attributes, …]. The names are one list per content
   * (SharedStrings.fieldList), told apart by reference: the same text read for other fields is other
   * attributes (`"E1"` as a mail in one system, an externalId in another).
   */
  #parsed: (string | readonly string[] | Account['attributes'] | null)[] | null = null;

  constructor(key: string, pool: (value: string) => string, position: number) {
    this.key = key;
    this.position = position;
    this.#pool = pool;
    this.#seen = [key];
  }

  share(value: string): string {
    const seen = this.#seen;
    for (let i = 0; i < seen.length; i++) if (seen[i] === value) return seen[i]!;
    const shared = this.#pool(value);
    if (seen.length < STRINGS_PER_IDENTITY) seen.push(shared);
    return shared;
  }

  attributes(text: string): Account['attributes'] {
    return this.#parsedOnce(text, null);
  }

  fields(names: readonly string[], text: string): Account['attributes'] {
    return this.#parsedOnce(text, names);
  }

  #parsedOnce(text: string, names: readonly string[] | null): Account['attributes'] {
    const parsed = (this.#parsed ??= []);
    for (let i = 0; i < parsed.length; i += 3) if (parsed[i] === text && parsed[i + 1] === names) return parsed[i + 2] as Account['attributes'];
    // Made on a miss alone: most accounts find their attributes parsed already.
    const share = (value: string) => this.share(value);
    const attributes = names ? parsedFields(names, text, share) : parsedAttributes(text, share);
    // Kept detached: the text is cut from its row's line.
    if (parsed.length < 3 * ATTRIBUTES_PER_IDENTITY) parsed.push(detached(text)!, names, attributes);
    return attributes;
  }
}

/** Attributes from their JSON text, string values shared, frozen (lists too): one object may stand for several accounts' attributes. */
function parsedAttributes(text: string, share: (value: string) => string): Account['attributes'] {
  const values = JSON.parse(text) as Record<string, AttributeValue>;
  for (const field in values) values[field] = sharedValue(values[field]!, share);
  return Object.freeze(values);
}

type AttributeValue = Account['attributes'][string];

/** Attributes from the named fields' texts (fieldsText), as parsedAttributes gives them: an absent field stays absent. */
function parsedFields(names: readonly string[], text: string, share: (value: string) => string): Account['attributes'] {
  const values: Record<string, AttributeValue> = {};
  const texts = names.length === 1 ? [text] : text.split('\t');
  for (let i = 0; i < names.length; i++) {
    const json = texts[i]!;
    if (json === ABSENT) continue;
    // A plain string (the usual value) without JSON.parse: quoted, nothing escaped.
    const plain = json.length >= 2 && json.charCodeAt(0) === 34 && !json.includes('\\');
    values[names[i]!] = plain ? share(json.slice(1, -1)) : sharedValue(JSON.parse(json) as AttributeValue, share);
  }
  return Object.freeze(values);
}

/** A parsed attribute's strings shared, a list frozen. */
function sharedValue(value: AttributeValue, share: (value: string) => string): AttributeValue {
  if (typeof value === 'string') return share(value);
  if (Array.isArray(value)) {
    for (let k = 0; k < value.length; k++) if (typeof value[k] === 'string') value[k] = share(value[k]!);
    Object.freeze(value);
  }
  return value;
}

/** What of the observed state to read. */
export interface ObservedReadOptions {
  /**
   * Per system, the only account attributes to read (a plan reads those of
   * plannedAccountFields); a system absent here has all of its attributes read.
   */
  readonly attributesRead?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Observed state of every reconciled system (of `systems` when given). The links
 * reconciliation settled travel with each system's accounts (`linkedKeys`; read
 * them with forEachLink).
 */
export async function loadObserved(db: Db, systems?: readonly string[], options: ObservedReadOptions = {}): Promise<{ observed: ObservedSystem[]; runs: Map<string, SnapshotRun> }> {
  const runs = await latestRuns(db, systems);
  // An identity's name, mail and key repeat in each of its systems: one copy for all runs.
  const strings = sharedStrings();
  const load = (run: SnapshotRun) => loadRun(db, run, strings, options.attributesRead?.get(run.system));
  // Two runs read side by side, each on its own connection: while the server sends one's rows, the
  // other's are built. In a caller's transaction (or on PGlite's one connection) the second waits its
  // turn, its COPY after the first's (src/store/copy-read.ts).
  const order = [...runs.values()];
  const observed: ObservedSystem[] = new Array(order.length);
  let taken = 0;
  const reader = async () => {
    for (let i = taken++; i < order.length; i = taken++) observed[i] = await load(order[i]!);
  };
  // Both readers end before a failure is passed on: none is left reading behind the caller.
  const failed = (await Promise.allSettled([reader(), reader()])).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { observed, runs };
}

/**
 * An observed account row as the engine's Account, with its name and attributes as
 * the caller shares or parses them. Built whole, without a copy of the row: a plan
 * at 500,000 people builds 7 million.
 */
export function observedAccount(system: string, row: { readonly account_id: string; readonly enabled: boolean; readonly last_login_at: string | null }, name: string, attributes: Account['attributes']): Account {
  const { account_id: accountId, enabled, last_login_at: lastLoginAt } = row;
  return lastLoginAt === null ? { system, accountId, name, enabled, attributes } : { system, accountId, name, enabled, attributes, lastLoginAt };
}
