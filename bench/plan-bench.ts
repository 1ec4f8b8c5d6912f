/**
 * `jml plan` as a user runs it, measured from outside: the whole process (store
 * read, desired access, plan, writing the plan) on a PostgreSQL database, or the
 * embedded one, seeded with the engine benchmark's synthetic organisation — by
 * default 100,000 identities (~2 million observed grants), each system reconciled once.
 *
 *   DATABASE_URL=postgres://… node bench/plan-bench.ts [--identities N] [--runs N]
 *   … --keep                 keep the seeded database and print its URL (for A/B runs)
 *   … --database URL         plan on a database seeded before with --keep (seeds nothing)
 *   … --jml PATH             the jml to run (default: this tree's bin/jml.js)
 *   node bench/plan-bench.ts --backend pglite [--identities N] [--keep]
 *                            the embedded database (PGlite) in a new data directory
 *   … --data DIR             plan on a data directory seeded before with --keep
 *
 * Goal (issue 16, goal 3): 500,000 identities ≤ 30 s and ≤ 3 GiB.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import type { Policy } from '../src/domain/policy.ts';
import { listedGrants } from '../src/engine/observed-index.ts';
import { bulkInsert } from '../src/store/bulk-write.ts';
import { openStore, type StoreOptions } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';
import { syntheticOrganisation } from './engine-bench.ts';
import { JML_BIN, measureProcess } from './process-measure.ts';

const { values } = parseArgs({
  options: {
    identities: { type: 'string' }, runs: { type: 'string' }, keep: { type: 'boolean', default: false },
    database: { type: 'string' }, jml: { type: 'string' }, json: { type: 'boolean', default: false },
    backend: { type: 'string' }, data: { type: 'string' },
  },
});
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const log = (line: string) => !values.json && console.log(line);

/** The synthetic policy as YAML files (JSON is YAML) in `dir`. */
function writePolicy(dir: string, policy: Policy): void {
  mkdirSync(dir, { recursive: true });
  const write = (file: string, value: unknown) => writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 1)}\n`);
  write('systems.yaml', {
    systems: policy.systems.map((s) => ({
      name: s.name, connector: { type: 'simulated' }, owner: s.owner, criticality: s.criticality, enforcement: s.enforcement,
      leaver: { action: s.leaver.action, delete_after_days: s.leaver.deleteAfterDays }, identity_provider: s.identityProvider, sessions: s.sessions,
    })),
  });
  write('entitlements.yaml', { entitlements: policy.entitlements.map((e) => ({ system: e.system, name: e.name, display_name: e.displayName, privileged: e.privileged })) });
  write('roles.yaml', {
    roles: policy.roles.map((r) => ({
      name: r.name,
      inducements: r.inducements.map((i) => (i.type === 'role' ? { role: i.role } : { entitlement: `${i.system}:${i.entitlement}` })),
    })),
  });
  write('rules.yaml', { rules: policy.rules.map((r) => ({ name: r.name, when: r.when, grant: { roles: r.grant.roles } })) });
  write('approvals.yaml', { approvals: [] });
}

/** Seeds identities and one completed reconcile run per system (accounts linked, grants as observed). */
async function seed(target: StoreOptions, count: number, policyDir: string): Promise<{ accounts: number; grants: number }> {
  const org = syntheticOrganisation({ identities: count });
  writePolicy(policyDir, org.policy);
  const store = await openStore(target);
  try {
    const db = store.db;
    await bulkInsert(db, 'identities', { key: 'text', kind: 'text', status: 'text', source: 'text', attributes: 'jsonb', start_date: 'date', end_date: 'date' },
      org.identities, { chunkSize: 10_000, map: (i) => ({ key: i.key, kind: i.kind, status: i.status, source: i.source, attributes: i.attributes, start_date: i.startDate, end_date: i.endDate }) });
    let accounts = 0;
    let grants = 0;
    const at = '2026-06-15T08:00:00Z';
    for (const o of org.observed) {
      const run = `run-${o.system}`;
      await sql`INSERT INTO reconcile_runs (id, system, status, phase, actor, started_at, updated_at, finished_at) VALUES (${run}, ${o.system}, 'completed', 'done', 'bench', ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz)`.execute(db);
      await bulkInsert(db, 'observed_accounts', { run_id: 'text', system: 'text', account_id: 'text', name: 'text', enabled: 'boolean', attributes: 'jsonb', identity_key: 'text', situation: 'text' },
        o.accounts, { chunkSize: 10_000, map: (a) => ({ run_id: run, system: o.system, account_id: a.accountId, name: a.name, enabled: a.enabled, attributes: a.attributes, identity_key: a.attributes.externalId, situation: 'linked' }) });
      // A store holds a grant once (the drift may add a grant the account already holds).
      const once = new Set<string>();
      const listed = listedGrants(o).filter((g) => !once.has(`${g.accountId}\u0000${g.entitlement}`) && !!once.add(`${g.accountId}\u0000${g.entitlement}`));
      await bulkInsert(db, 'observed_grants', { run_id: 'text', system: 'text', account_id: 'text', entitlement: 'text' },
        listed, { chunkSize: 20_000, map: (g) => ({ run_id: run, system: o.system, account_id: g.accountId, entitlement: g.entitlement }) });
      const entitlements = org.policy.entitlements.filter((e) => e.system === o.system);
      await bulkInsert(db, 'observed_entitlements', { run_id: 'text', system: 'text', entitlement: 'text', display_name: 'text', type: 'text' },
        entitlements, { map: (e) => ({ run_id: run, system: o.system, entitlement: e.name, display_name: e.displayName, type: 'group' }) });
      accounts += o.accounts.length;
      grants += listed.length;
    }
    await sql`ANALYZE`.execute(db);
    return { accounts, grants };
  } finally {
    await store.close();
  }
}

/** How many identities a seeded database holds. */
async function identitiesIn(target: StoreOptions): Promise<number> {
  const store = await openStore(target);
  try {
    const { n } = await store.db.selectFrom('identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(n);
  } finally {
    await store.close();
  }
}

const count = Number(values.identities ?? 100_000);
// --data names an embedded data directory: it means --backend pglite.
const backend = values.backend ?? (values.data === undefined ? 'postgres' : 'pglite');
const embedded = backend === 'pglite';
if (!embedded && backend !== 'postgres') throw new Error(`--backend ${backend}: postgres or pglite`);
if (embedded && values.database) throw new Error('--database is a PostgreSQL database: with --backend pglite, pass --data DIR');
if (!embedded && values.data !== undefined) throw new Error('--data is an embedded data directory: with --backend postgres, pass --database URL');
// A data directory seeded before holds the database in pgdata; opening any other would make an empty one.
if (values.data !== undefined && !existsSync(path.join(values.data, 'pgdata'))) throw new Error(`--data ${values.data}: no data directory seeded by --keep there`);
const serverUrl = process.env.DATABASE_URL;
if (!embedded && !values.database && !serverUrl) throw new Error('set DATABASE_URL (a PostgreSQL server) or pass --database');
const work = mkdtempSync(path.join(os.tmpdir(), 'jml-plan-bench-'));
const seeded = embedded ? values.data === undefined : values.database === undefined;
const scratch = embedded || !seeded ? null : await createScratchDatabase(serverUrl!, 'jml_plan_bench');
// Where the plan reads: one of the two, the other undefined.
const target: StoreOptions = embedded
  ? { dataDir: path.resolve(values.data ?? mkdtempSync(path.join(os.tmpdir(), 'jml-plan-bench-data-'))) }
  : { databaseUrl: values.database ?? scratch!.url };
const { databaseUrl, dataDir } = target;
// Named after the database (or data directory), so a later --database (--data) run finds the policy its seeding wrote.
const policyDir = path.join(os.tmpdir(), `jml-plan-bench-policy-${dataDir ? path.basename(dataDir) : new URL(databaseUrl!).pathname.slice(1)}`);
const backendName = embedded ? 'the embedded database (PGlite)' : 'PostgreSQL';
try {
  if (seeded) {
    const t0 = performance.now();
    const made = await seed(target, count, policyDir);
    log(`seeded ${count.toLocaleString('en')} identities, ${made.accounts.toLocaleString('en')} accounts, ${made.grants.toLocaleString('en')} observed grants in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  // The policy does not depend on the organisation's size: a kept database whose policy
  // directory was cleaned out of the temporary directory gets it written again.
  if (!seeded && !existsSync(policyDir)) writePolicy(policyDir, syntheticOrganisation({ identities: 1 }).policy);
  // A database seeded before says how many people it holds (the label once said 100,000 whatever it held).
  const people = seeded ? count : await identitiesIn(target);
  if (people === 0) throw new Error(`${dataDir ?? databaseUrl} holds no identities: seed it first (--keep)`);
  // Said before the runs, so a run that fails still tells where the seeded data is.
  if (values.keep && seeded) log(dataDir ? `kept: --data ${dataDir} (remove it when done)` : `kept: --database ${databaseUrl} (drop it when done)`);
  const jml = values.jml ?? JML_BIN;
  // The store is named here alone: DATABASE_URL, or a JML_CONFIG naming a server, would take precedence over --data.
  const { DATABASE_URL: _server, JML_CONFIG: _config, ...inherited } = process.env;
  const where = dataDir ? ['--data', dataDir] : [];
  const env = { ...inherited, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), JML_ACTOR: 'bench', JML_BATCH_NICE: '0' };
  for (let r = 0; r < Number(values.runs ?? 1); r++) {
    const out = path.join(work, 'plan.json');
    const fd = openSync(out, 'w');
    const before = load();
    const figure = measureProcess(process.execPath, [jml, '--policy', policyDir, ...where, 'plan', '--json'], { env, cwd: work, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    // With --json jml writes its error to standard output, the plan file.
    if (figure.status !== 0) throw new Error(`jml plan failed (${figure.status}): ${(figure.stderr || readFileSync(out, 'utf8')).slice(0, 2000)}`);
    const changes = (JSON.parse(readFileSync(out, 'utf8')) as { plan: { changes: unknown[] } }).plan.changes.length;
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    const met = `time ${verdict(figure.ms <= 30_000)}, memory ${verdict((figure.peakRssMiB ?? Infinity) <= 3_072)}`;
    // The goal is named at 500,000: at another size the verdict would say nothing.
    const goal = people === 500_000 ? ` (goal at 500,000: ≤ 30 s, ≤ 3,072 MiB) ${met}` : '';
    log(`jml plan, ${people.toLocaleString('en')} identities on ${backendName}: ${(figure.ms / 1000).toFixed(1)} s wall, ${((figure.cpuMs ?? NaN) / 1000).toFixed(1)} s CPU, peak RSS ${figure.peakRssMiB} MiB, ${changes.toLocaleString('en')} changes, plan file ${(statSync(out).size / 2 ** 20).toFixed(0)} MiB${goal}; load average before ${before}, after ${load()}`);
    if (values.json) console.log(JSON.stringify({ bench: 'plan', backend: embedded ? 'pglite' : 'postgres', identities: people, ms: figure.ms, cpuMs: figure.cpuMs, peakRssMiB: figure.peakRssMiB, changes, loadBefore: before, loadAfter: load() }));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  if (seeded && !values.keep) {
    await scratch?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    rmSync(policyDir, { recursive: true, force: true });
  }
}
