/**
 * `npm run bench -- --only apply`: first provisioning into OpenLDAP, measured
 * as a user runs it, against the directory's own floor in the same run.
 *
 * For each backend (PGlite; PostgreSQL too when DATABASE_URL is set) the
 * harness starts its own OpenLDAP with one group per department, then:
 *
 * 1. Floor: `ldapadd` of N inetOrgPerson entries and `ldapmodify` adding each
 *    of them to its department group — each as one child process over one
 *    connection, as a directory administrator would. ops/s = 2N / time.
 * 2. jml: N people imported from an HR file (not timed), then `jml apply
 *    --yes --json` as a whole process (plan, queue, connector calls, read-back
 *    confirmation, records): one create_account and one add_grant per person.
 *    changes/s = changes confirmed / wall time of the process. Both commands
 *    run through bin/jml.js, as `npx jml` does (its compile cache included).
 *
 * Prints jml's rate, how long before its first change was done, the floor's
 * rate, their ratio against the goal (≥ 0.5), jml's CPU time and peak RSS,
 * and the load average.
 *
 * 3. With --leavers L: a leaver wave after that. An HR file ends the first L
 *    people's employment (mass-change guard released on import, not timed),
 *    then `jml apply --yes --json` again, timed the same way: each leaver's
 *    account disabled (ppolicy lock) and department membership removed.
 *    Its floor: `ldapmodify` locking L of the floor's entries and deleting
 *    each from its group, one modify per change over one connection.
 *
 *   node bench/apply-bench.ts [--people 2000] [--leavers 0] [--backend pglite|postgres|both] [--cpu-prof DIR] [--skip-floor] [--jml PATH]
 *   (--jml: another tree's bin/jml.js, for an A/B comparison; default this tree's)
 *   (--skip-floor: jml's figures only; at 100,000 people the floor's one-connection ldapmodify alone takes minutes)
 *   (--leavers 2000 --people 5000: the mass-leaver wave of issue 16; not in `npm run bench`, whose run stays the provisioning one)
 *   (postgres: DATABASE_URL=postgres://… names the server; a scratch database is made and dropped)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { keyringFromEnv } from '../src/connectors/secrets/index.ts';
import { openStore } from '../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap, type OpenLdapPeer } from '../test/peers/openldap.ts';
import { HR_HEADER, hrRow } from '../test/support/hr-files.ts';
import { writePolicyDir } from '../test/support/jml-fixture.ts';
import { addDirectoryGroups, directorySettings, storePeerSecrets } from '../test/support/peer-systems.ts';
import { createScratchDatabase, type ScratchDatabase } from '../test/support/scratch-database.ts';
import { JML_BIN } from './process-measure.ts';

const execute = promisify(execFile);
const { values } = parseArgs({ options: { people: { type: 'string', default: '2000' }, backend: { type: 'string', default: 'both' }, departments: { type: 'string', default: '10' }, json: { type: 'boolean', default: false }, 'cpu-prof': { type: 'string' }, jml: { type: 'string' }, 'skip-floor': { type: 'boolean', default: false }, leavers: { type: 'string', default: '0' } } });
const PEOPLE = Number(values.people);
/** The jml to run (another tree's bin/jml.js for an A/B comparison). */
const JML = values.jml ?? JML_BIN;
const LEAVERS = Number(values.leavers);
if (!Number.isInteger(LEAVERS) || LEAVERS < 0 || LEAVERS > PEOPLE) throw new Error(`--leavers must be a whole number from 0 to --people (${PEOPLE}), not ${values.leavers}`);
const DEPARTMENTS = Number(values.departments);
const GOAL = 0.5;
const department = (i: number) => `Dept${String(i % DEPARTMENTS).padStart(2, '0')}`;
const groupOf = (i: number) => `dept-${department(i).toLowerCase()}`;
const key = (i: number) => `E${String(i).padStart(6, '0')}`;
const floorUid = (i: number) => `floor${String(i).padStart(6, '0')}`;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

interface ApplyRun {
  readonly backend: 'pglite' | 'postgres';
  readonly people: number;
  readonly changes: number;
  readonly confirmed: number;
  readonly applySeconds: number;
  /** From the start of `jml apply` to the first change recorded as done (planning, recording the plan, queueing its jobs, the first batch). */
  readonly firstChangeSeconds: number;
  /** From the start of `jml apply` to the last change recorded as done; the rest of applySeconds is the process seeing it and ending. */
  readonly lastChangeSeconds: number;
  readonly changesPerSecond: number;
  readonly floorOpsPerSecond: number | null;
  readonly ldapaddPerSecond: number | null;
  readonly ldapmodifyPerSecond: number | null;
  readonly ratio: number | null;
  readonly peakRssMiB: number;
  /** CPU seconds (user + system) of the `jml apply` process itself; the database server's and slapd's are not in it. */
  readonly cpuSeconds: number;
  /** slapd's CPU seconds while jml applied, and while the floor ran (ldapadd + ldapmodify). */
  readonly slapdCpuSeconds: number;
  readonly floorSlapdCpuSeconds: number | null;
  /** CPU seconds of the PostgreSQL backends serving the apply's database (sampled each second; null on PGlite, which is inside jml's process). */
  readonly postgresCpuSeconds: number | null;
  /** What OpenLDAP's own `ldapsearch` finds once the apply has ended: jml's accounts, and their memberships of the department groups. */
  readonly seenByLdapsearch: { readonly accounts: number; readonly memberships: number };
  readonly loadAverage: string;
  readonly leaverWave: LeaverWave | null;
}

/** The timed `jml apply` of a leaver wave (--leavers). */
interface LeaverWave extends TimedApply {
  readonly leavers: number;
  /** Changes of the wave by kind (disable_account, remove_grant, …). */
  readonly kinds: Readonly<Record<string, number>>;
  readonly floorOpsPerSecond: number | null;
  readonly floorSlapdCpuSeconds: number | null;
  readonly ratio: number | null;
  /** What `ldapsearch` finds after the wave: jml's accounts locked by ppolicy, and the department memberships left. */
  readonly seenByLdapsearch: { readonly locked: number; readonly memberships: number };
}

/** A whole `jml apply --yes --json` process, timed from outside. */
interface TimedApply {
  readonly changes: number;
  readonly confirmed: number;
  readonly applySeconds: number;
  /** From the start of `jml apply` to the first change recorded as done (planning, recording the plan, queueing its jobs, the first batch). */
  readonly firstChangeSeconds: number;
  /** From the start of `jml apply` to the last change recorded as done. */
  readonly lastChangeSeconds: number;
  readonly changesPerSecond: number;
  readonly peakRssMiB: number;
  readonly cpuSeconds: number;
  readonly slapdCpuSeconds: number;
  readonly postgresCpuSeconds: number | null;
  readonly loadAverage: string;
  readonly report: { readonly total: number; readonly counts: Record<string, number>; readonly changes: readonly { readonly kind: string }[] };
}

async function main(): Promise<void> {
  const skip = openLdapSkipReason();
  if (skip) return console.log(`skipped: ${skip}`);
  const backends: ('pglite' | 'postgres')[] = [];
  if (values.backend !== 'postgres') backends.push('pglite');
  if (values.backend !== 'pglite') {
    if (process.env.DATABASE_URL) backends.push('postgres');
    else console.log('postgres: skipped (set DATABASE_URL=postgres://… to measure on PostgreSQL)');
  }
  for (const backend of backends) {
    const r = await runOnce(backend);
    console.log(
      `apply ${backend}: ${r.confirmed}/${r.changes} changes for ${r.people.toLocaleString('en')} people in ${r.applySeconds.toFixed(1)} s → ` +
        `${Math.round(r.changesPerSecond)} changes/s, the first done after ${r.firstChangeSeconds.toFixed(1)} s, the last after ${r.lastChangeSeconds.toFixed(1)} s; ` +
        (r.floorOpsPerSecond === null || r.ratio === null
          ? 'floor not measured; '
          : `floor ${Math.round(r.floorOpsPerSecond)} ops/s (ldapadd ${Math.round(r.ldapaddPerSecond!)}/s, ldapmodify ${Math.round(r.ldapmodifyPerSecond!)}/s) → ratio ${r.ratio.toFixed(2)} (goal ≥ ${GOAL}); `) +
        `CPU per change: jml ${((r.cpuSeconds * 1000) / r.changes).toFixed(2)} ms, slapd ${((r.slapdCpuSeconds * 1000) / r.changes).toFixed(2)} ms` +
        `${r.postgresCpuSeconds === null ? '' : `, postgres ${((r.postgresCpuSeconds * 1000) / r.changes).toFixed(2)} ms`} ` +
        `${r.floorSlapdCpuSeconds === null ? '' : `(floor: slapd ${((r.floorSlapdCpuSeconds * 1000) / (2 * r.people)).toFixed(2)} ms per op)`}; ` +
        `ldapsearch finds ${r.seenByLdapsearch.accounts} accounts and ${r.seenByLdapsearch.memberships} memberships; jml peak RSS ${r.peakRssMiB} MiB; load average ${r.loadAverage} on ${os.availableParallelism()} cores`,
    );
    const { leaverWave: wave, ...provisioning } = r;
    console.log(JSON.stringify({ bench: 'apply', ...provisioning }));
    if (wave) {
      const { report: _r, ...figures } = wave;
      const perChange = (seconds: number) => ((seconds * 1000) / wave.changes).toFixed(2);
      console.log(
        `apply ${backend} leaver wave: ${wave.confirmed}/${wave.changes} changes (${Object.entries(wave.kinds).map(([k, n]) => `${n} ${k}`).join(', ')}) for ${wave.leavers.toLocaleString('en')} leavers of ` +
          `${r.people.toLocaleString('en')} people in ${wave.applySeconds.toFixed(1)} s → ${Math.round(wave.changesPerSecond)} changes/s, the first done after ${wave.firstChangeSeconds.toFixed(1)} s, the last after ${wave.lastChangeSeconds.toFixed(1)} s; ` +
          (wave.floorOpsPerSecond === null || wave.ratio === null ? 'floor not measured; ' : `floor ${Math.round(wave.floorOpsPerSecond)} ops/s → ratio ${wave.ratio.toFixed(2)} (goal ≥ ${GOAL}); `) +
          `CPU per change: jml ${perChange(wave.cpuSeconds)} ms, slapd ${perChange(wave.slapdCpuSeconds)} ms` +
          `${wave.postgresCpuSeconds === null ? '' : `, postgres ${perChange(wave.postgresCpuSeconds)} ms`} ` +
          `${wave.floorSlapdCpuSeconds === null ? '' : `(floor: slapd ${((wave.floorSlapdCpuSeconds * 1000) / (2 * wave.leavers)).toFixed(2)} ms per op)`}; ` +
          `ldapsearch finds ${wave.seenByLdapsearch.locked} locked accounts and ${wave.seenByLdapsearch.memberships} memberships left; jml peak RSS ${wave.peakRssMiB} MiB; load average ${wave.loadAverage} on ${os.availableParallelism()} cores`,
      );
      console.log(JSON.stringify({ bench: 'apply-leavers', backend, people: r.people, ...figures }));
    }
  }
}

async function runOnce(backend: 'pglite' | 'postgres'): Promise<ApplyRun> {
  const dir = mkdtempSync(join(os.tmpdir(), 'jml-apply-bench-'));
  const ldap = await startOpenLdap();
  let database: ScratchDatabase | null = null;
  try {
    const groups = [...new Set(Array.from({ length: DEPARTMENTS }, (_, i) => groupOf(i)))];
    await addDirectoryGroups(ldap, [...groups, ...groups.map((g) => `floor-${g}`)]);
    const floorCpu0 = slapdCpu(ldap);
    const floor = values['skip-floor'] ? { floorOpsPerSecond: null, ldapaddPerSecond: null, ldapmodifyPerSecond: null } : await measureFloor(ldap, dir);
    const floorSlapdCpuSeconds = values['skip-floor'] ? null : slapdCpu(ldap) - floorCpu0;

    database = backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL!, 'jml_bench') : null;
    const { JML_CONFIG: _c, JML_DATA_DIR: _d, JML_POLICY_DIR: _p, ...inherited } = process.env;
    const env = { ...inherited, JML_MASTER_KEY: randomBytes(32).toString('base64'), DATABASE_URL: database?.url ?? '', JML_LOG_LEVEL: 'warn' };
    await setUp(dir, ldap, env);
    const rows = Array.from({ length: PEOPLE }, (_, i) => hrRow({ id: key(i + 1), first: `First${i + 1}`, last: `Last${i + 1}`, department: department(i + 1), start: '2024-01-01' }));
    writeFileSync(join(dir, 'hr.csv'), [HR_HEADER, ...rows].join('\n') + '\n');
    await execute(process.execPath, [JML, 'import', 'hr', join(dir, 'hr.csv'), '--json'], { cwd: dir, env, maxBuffer: 256 * 2 ** 20 });

    const applied = await timedApply(dir, env, ldap, database);
    // Checked with the directory's own tool, not with jml: every person's account, each in its department's group.
    const seenByLdapsearch = await countWithLdapsearch(ldap, dir);
    if (seenByLdapsearch.accounts !== PEOPLE || seenByLdapsearch.memberships !== PEOPLE) {
      throw new Error(`ldapsearch finds ${seenByLdapsearch.accounts} accounts and ${seenByLdapsearch.memberships} memberships for ${PEOPLE} people`);
    }
    const leaverWave = LEAVERS > 0 ? await runLeaverWave(dir, env, ldap, database, rows) : null;
    return {
      backend,
      people: PEOPLE,
      changes: applied.changes,
      confirmed: applied.confirmed,
      applySeconds: applied.applySeconds,
      firstChangeSeconds: applied.firstChangeSeconds,
      lastChangeSeconds: applied.lastChangeSeconds,
      changesPerSecond: applied.changesPerSecond,
      ...floor,
      ratio: floor.floorOpsPerSecond === null ? null : applied.changesPerSecond / floor.floorOpsPerSecond,
      peakRssMiB: applied.peakRssMiB,
      cpuSeconds: applied.cpuSeconds,
      slapdCpuSeconds: applied.slapdCpuSeconds,
      floorSlapdCpuSeconds,
      postgresCpuSeconds: applied.postgresCpuSeconds,
      seenByLdapsearch,
      loadAverage: applied.loadAverage,
      leaverWave,
    };
  } finally {
    await ldap.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `jml apply --yes --json` as a whole process and times it; throws unless every change is confirmed. */
async function timedApply(dir: string, env: NodeJS.ProcessEnv, ldap: OpenLdapPeer, database: ScratchDatabase | null): Promise<TimedApply> {
  const rssFile = join(dir, 'rss.txt');
  const loadAverage = load();
  const slapd0 = slapdCpu(ldap);
  const postgresCpu = database ? await samplePostgresCpu(database.url) : null;
  const startedAt = Date.now();
  const t0 = performance.now();
  const { stdout } = await execute('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : []), JML, 'apply', '--yes', '--json'], { cwd: dir, env, maxBuffer: 256 * 2 ** 20 }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`jml apply failed: ${error.stderr ?? ''}${(error.stdout ?? '').slice(0, 2000)}`);
  }).finally(() => postgresCpu?.stop());
  const applySeconds = (performance.now() - t0) / 1000;
  const postgresCpuSeconds = postgresCpu ? await postgresCpu.stop() : null;
  const slapdCpuSeconds = slapdCpu(ldap) - slapd0;
  const report = JSON.parse(stdout) as TimedApply['report'];
  const confirmed = (report.counts.confirmed ?? 0) + (report.counts.already ?? 0);
  if (confirmed !== report.total) throw new Error(`jml apply confirmed ${confirmed} of ${report.total} changes: ${JSON.stringify(report.counts)}`);
  const done = await changesDone(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(dir, 'data') }, startedAt);
  const firstChangeSeconds = (done.first - startedAt) / 1000;
  const lastChangeSeconds = (done.last - startedAt) / 1000;
  const [rssKiB, user, system] = readFileSync(rssFile, 'utf8').trim().split(/\s+/).map(Number);
  return {
    changes: report.total, confirmed, applySeconds, firstChangeSeconds, lastChangeSeconds, changesPerSecond: report.total / applySeconds,
    peakRssMiB: Math.round(rssKiB! / 1024), cpuSeconds: user! + system!, slapdCpuSeconds, postgresCpuSeconds, loadAverage, report,
  };
}

/**
 * The leaver wave: the first LEAVERS people of `rows` leave (imported with the mass-change guard
 * released, not timed), the floor does the same work to its own entries, then jml applies.
 */
async function runLeaverWave(dir: string, env: NodeJS.ProcessEnv, ldap: OpenLdapPeer, database: ScratchDatabase | null, rows: readonly string[]): Promise<LeaverWave> {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const left = Array.from({ length: PEOPLE }, (_, i) =>
    i < LEAVERS ? hrRow({ id: key(i + 1), first: `First${i + 1}`, last: `Last${i + 1}`, department: department(i + 1), start: '2024-01-01', end: yesterday, status: 'terminated' }) : rows[i]!);
  writeFileSync(join(dir, 'hr-leavers.csv'), [HR_HEADER, ...left].join('\n') + '\n');
  await execute(process.execPath, [JML, 'import', 'hr', join(dir, 'hr-leavers.csv'), '--allow-mass-change', '--json'], { cwd: dir, env, maxBuffer: 256 * 2 ** 20 });
  const floorCpu0 = slapdCpu(ldap);
  const floorOpsPerSecond = values['skip-floor'] ? null : await measureLeaverFloor(ldap, dir);
  const floorSlapdCpuSeconds = values['skip-floor'] ? null : slapdCpu(ldap) - floorCpu0;
  const applied = await timedApply(dir, env, ldap, database);
  const kinds: Record<string, number> = {};
  for (const c of applied.report.changes) kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
  const seenByLdapsearch = await countLeaversWithLdapsearch(ldap, dir);
  if (seenByLdapsearch.locked !== LEAVERS || seenByLdapsearch.memberships !== PEOPLE - LEAVERS) {
    throw new Error(`after ${LEAVERS} leavers ldapsearch finds ${seenByLdapsearch.locked} locked accounts and ${seenByLdapsearch.memberships} memberships for ${PEOPLE} people`);
  }
  return {
    ...applied, leavers: LEAVERS, kinds, floorOpsPerSecond, floorSlapdCpuSeconds,
    ratio: floorOpsPerSecond === null ? null : applied.changesPerSecond / floorOpsPerSecond, seenByLdapsearch,
  };
}

/** When the first and the last change done since `since` (ms since the epoch: the start of that `jml apply`) were recorded, read from the store once the apply has ended. */
async function changesDone(location: { databaseUrl: string } | { dataDir: string }, since: number): Promise<{ readonly first: number; readonly last: number }> {
  const store = await openStore(location);
  try {
    const row = await store.db
      .selectFrom('plan_changes')
      .select((eb) => [eb.fn.min('finished_at').as('first'), eb.fn.max('finished_at').as('last')])
      .where('state', 'in', ['confirmed', 'already'])
      .where('finished_at', '>=', new Date(since))
      .executeTakeFirst();
    if (!row?.first || !row.last) throw new Error('no change of the apply is recorded as done');
    return { first: new Date(row.first).getTime(), last: new Date(row.last).getTime() };
  } finally {
    await store.close();
  }
}

/** CPU seconds (user + system) slapd has used so far (its pid file is in its directory; 100 clock ticks a second). */
function slapdCpu(ldap: OpenLdapPeer): number {
  const pid = readFileSync(join(ldap.dir, 'slapd.pid'), 'utf8').trim();
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds of the PostgreSQL server processes serving one database (same machine): each
 * backend's utime + stime from /proc, sampled every second and kept at its highest, summed on
 * stop. A backend's last second before it exits can be missed; the server's shared processes
 * (WAL writer, checkpointer) are not in it.
 */
async function samplePostgresCpu(databaseUrl: string): Promise<{ stop(): Promise<number> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const seen = new Map<number, number>();
  const sample = async () => {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    for (const { pid } of rows) {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
        seen.set(pid, Math.max(seen.get(pid) ?? 0, (Number(fields[11]) + Number(fields[12])) / 100));
      } catch {
        // A backend that ended between the query and the read.
      }
    }
  };
  let stopped: Promise<number> | null = null;
  let pending: Promise<void> = sample();
  const timer = setInterval(() => void (pending = pending.then(sample, sample)), 1000);
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await pending.catch(() => undefined);
        await client.end();
        return [...seen.values()].reduce((a, b) => a + b, 0);
      })();
      return stopped;
    },
  };
}

/** The environment and arguments OpenLDAP's own tools (ldapadd, ldapmodify, ldapsearch) need to bind as the directory's administrator over StartTLS. */
function ldapTools(ldap: OpenLdapPeer, dir: string): { env: NodeJS.ProcessEnv; auth: string[] } {
  writeFileSync(join(dir, 'tools-ca.pem'), ldap.caPem);
  return {
    env: { ...process.env, LDAPTLS_CACERT: join(dir, 'tools-ca.pem'), LDAPTLS_REQCERT: 'demand' },
    auth: ['-x', '-ZZ', '-H', ldap.url, '-D', ldap.bindDn, '-w', ldap.password],
  };
}

/** OpenLDAP's own `ldapsearch` answer, unwrapped LDIF, a line each. */
async function ldapsearchLines(ldap: OpenLdapPeer, dir: string, base: string, filter: string, attribute: string): Promise<string[]> {
  const { env, auth } = ldapTools(ldap, dir);
  const { stdout } = await execute('ldapsearch', [...auth, '-LLL', '-o', 'ldif-wrap=no', '-b', base, filter, attribute], { env, maxBuffer: 512 * 2 ** 20 });
  return stdout.split('\n');
}

/** How many of the lines start with `prefix`. */
const countStarting = (lines: readonly string[], prefix: string) => lines.filter((line) => line.startsWith(prefix)).length;

/** jml's accounts (employeeNumber E…) and the member values of the department groups, as `ldapsearch` lists them. */
async function countWithLdapsearch(ldap: OpenLdapPeer, dir: string): Promise<{ accounts: number; memberships: number }> {
  const accounts = await ldapsearchLines(ldap, dir, ldap.usersOu, '(employeeNumber=E*)', '1.1');
  const groups = await ldapsearchLines(ldap, dir, ldap.groupsOu, '(cn=dept-*)', 'member');
  // A group made empty holds a placeholder member (jml removes it with the first real member); it is nobody's membership.
  return { accounts: countStarting(accounts, 'dn: '), memberships: countStarting(groups, 'member: ') - countStarting(groups, 'member: cn=jml-empty-group-placeholder,') };
}

/** jml's accounts that ppolicy holds locked, and the member values left in the department groups, as `ldapsearch` lists them. */
async function countLeaversWithLdapsearch(ldap: OpenLdapPeer, dir: string): Promise<{ locked: number; memberships: number }> {
  const locked = await ldapsearchLines(ldap, dir, ldap.usersOu, '(&(employeeNumber=E*)(pwdAccountLockedTime=*))', '1.1');
  return { locked: countStarting(locked, 'dn: '), memberships: (await countWithLdapsearch(ldap, dir)).memberships };
}

/** The leaver floor: ldapmodify locking LEAVERS floor entries (ppolicy) and deleting each from its group, one modify each over one connection; ops/s. */
async function measureLeaverFloor(ldap: OpenLdapPeer, dir: string): Promise<number> {
  const { env, auth } = ldapTools(ldap, dir);
  let modifies = '';
  for (let i = 1; i <= LEAVERS; i++) {
    const dn = `uid=${floorUid(i)},${ldap.usersOu}`;
    modifies += `dn: ${dn}\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n\n`;
    modifies += `dn: cn=floor-${groupOf(i)},${ldap.groupsOu}\nchangetype: modify\ndelete: member\nmember: ${dn}\n\n`;
  }
  writeFileSync(join(dir, 'floor-leavers.ldif'), modifies);
  const t0 = performance.now();
  await execute('ldapmodify', [...auth, '-f', join(dir, 'floor-leavers.ldif')], { env, maxBuffer: 64 * 2 ** 20 });
  return (2 * LEAVERS) / ((performance.now() - t0) / 1000);
}

/** ldapadd of the entries, then ldapmodify adding each to its group: one process and one connection each. */
async function measureFloor(ldap: OpenLdapPeer, dir: string): Promise<{ floorOpsPerSecond: number; ldapaddPerSecond: number; ldapmodifyPerSecond: number }> {
  const { env, auth } = ldapTools(ldap, dir);
  const uid = floorUid;
  let adds = '';
  let modifies = '';
  for (let i = 1; i <= PEOPLE; i++) {
    const dn = `uid=${uid(i)},${ldap.usersOu}`;
    adds += `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: ${uid(i)}\ncn: Floor ${i}\nsn: Last${i}\ngivenName: First${i}\nmail: ${uid(i)}@example.org\nemployeeNumber: F${i}\n\n`;
    modifies += `dn: cn=floor-${groupOf(i)},${ldap.groupsOu}\nchangetype: modify\nadd: member\nmember: ${dn}\n\n`;
  }
  writeFileSync(join(dir, 'floor-add.ldif'), adds);
  writeFileSync(join(dir, 'floor-modify.ldif'), modifies);
  const t0 = performance.now();
  await execute('ldapadd', [...auth, '-f', join(dir, 'floor-add.ldif')], { env, maxBuffer: 64 * 2 ** 20 });
  const t1 = performance.now();
  await execute('ldapmodify', [...auth, '-f', join(dir, 'floor-modify.ldif')], { env, maxBuffer: 64 * 2 ** 20 });
  const t2 = performance.now();
  return {
    floorOpsPerSecond: (2 * PEOPLE) / ((t2 - t0) / 1000),
    ldapaddPerSecond: PEOPLE / ((t1 - t0) / 1000),
    ldapmodifyPerSecond: PEOPLE / ((t2 - t1) / 1000),
  };
}

async function setUp(dir: string, ldap: OpenLdapPeer, env: Record<string, string | undefined>): Promise<void> {
  writeFileSync(join(dir, 'jml.config.yaml'), 'timezone: UTC\ndata_dir: data\npolicy_dir: policy\n');
  writePolicyDir({
    'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: ${directorySettings(ldap, join(dir, 'ldap-ca.pem'))} }
    owner: "${key(1)}"
    correlation: { account: employeeNumber, identity: key }
    account: { name: "{first_name|ascii|lower}.{last_name|ascii|lower}", attributes: { sn: "{last_name}", givenName: "{first_name}" } }
`,
    'entitlements.yaml': 'entitlements:\n  - { system: dir, name: "dept-{department|slug}", display_name: "Department {department}" }\n',
    'rules.yaml': 'rules:\n  - { name: department-group, when: { kind: [employee] }, grant: { entitlements: ["dir:dept-{department|slug}"] } }\n',
  }, join(dir, 'policy'));
  const store = await openStore(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: join(dir, 'data') });
  try {
    await storePeerSecrets(store.db, keyringFromEnv(env), { dir: ldap });
  } finally {
    await store.close();
  }
}

await main();
