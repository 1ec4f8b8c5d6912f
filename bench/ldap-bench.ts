/**
 * LDAP benchmark against a throwaway OpenLDAP (test/peers/openldap.ts):
 *
 * 1. Reconcile read: bulk-load N inetOrgPerson entries (default 100,000) and
 *    some groups with `slapadd -q`, then time a bare paged `ldapsearch -E
 *    pr=1000/noprompt` of the same entries and attributes (the people with the
 *    attributes the connector asks for, the groups with their name and
 *    members) against the connector listing all accounts and grants page by
 *    page. The two alternate, so both see the same machine load; the best
 *    round of each counts. Target: connector ≤ 2× ldapsearch, peak RSS ≤ 1 GiB.
 * 2. Account creation: M new entries (default 2,000) with raw `ldapadd` (one
 *    connection, as an administrator would) versus `create_account` through
 *    the connector (a few concurrent applies over its connection pool).
 *    Target: connector rate ≥ 0.8× ldapadd.
 *
 *   node bench/ldap-bench.ts [--people N] [--creates M] [--repeats R] [--json]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Account, Grant } from '../src/domain/access.ts';
import type { Change } from '../src/domain/change.ts';
import { createLdapConnector, type LdapConnector } from '../src/connectors/ldap/index.ts';
import { accountAttributes, groupFilter, userFilter } from '../src/connectors/ldap/ldap-entries.ts';
import { personLdif, startOpenLdap, type OpenLdapPeer } from '../test/peers/openldap.ts';

export interface LdapBenchOptions {
  readonly people?: number;
  readonly groups?: number;
  readonly membersPerGroup?: number;
  readonly creates?: number;
  /** Concurrent create_account applies through the connector. */
  readonly concurrency?: number;
  /** Timed rounds of each read, alternating; the best one counts (warm cache for both sides). */
  readonly repeats?: number;
}

export interface LdapBenchResult {
  readonly people: number;
  readonly groups: number;
  readonly slapaddMs: number;
  readonly ldapsearchMs: number;
  readonly connectorReadMs: number;
  readonly accountsListed: number;
  readonly grantsListed: number;
  readonly readRatio: number;
  /** connector / ldapsearch of each round: the spread under the machine's load. */
  readonly roundRatios: readonly number[];
  readonly creates: number;
  readonly ldapaddPerSecond: number;
  readonly connectorCreatesPerSecond: number;
  readonly createRatio: number;
  readonly peakRssMiB: number;
  /** 1, 5 and 15 minute load averages when the reads ended: how busy the machine was. */
  readonly loadAverage: readonly number[];
}

/** Runs a CLI tool, discarding its output; rejects with its stderr on failure. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${stderr.slice(0, 500)}`))));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function readAll(connector: LdapConnector): Promise<{ accounts: Account[]; grants: Grant[] }> {
  const accounts: Account[] = [];
  const grants: Grant[] = [];
  for (const [kind, sink] of [['accounts', accounts], ['grants', grants]] as const) {
    let cursor: string | null = null;
    do {
      const page: { items: readonly (Account | Grant)[]; nextCursor: string | null } = await connector.list(kind, cursor, 1000);
      (sink as (Account | Grant)[]).push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return { accounts, grants };
}

/** Starts its own slapd, measures, stops it. */
export async function runLdapBench(options: LdapBenchOptions = {}): Promise<LdapBenchResult> {
  const people = options.people ?? 100_000;
  const groups = options.groups ?? 200;
  const membersPerGroup = options.membersPerGroup ?? 50;
  const creates = options.creates ?? 2_000;
  const concurrency = options.concurrency ?? 8;
  const repeats = options.repeats ?? 3;

  const t0 = performance.now();
  const peer: OpenLdapPeer = await startOpenLdap({ preload: { people, groups, membersPerGroup } });
  const slapaddMs = performance.now() - t0;
  const env = { ...process.env, LDAPTLS_CACERT: join(peer.dir, 'tls', 'ca.pem'), LDAPTLS_REQCERT: 'demand' };
  const auth = ['-x', '-ZZ', '-H', peer.url, '-D', peer.bindDn, '-w', peer.password];
  const connector = createLdapConnector({
    system: 'bench-ldap', flavour: 'openldap', url: peer.url, caPem: peer.caPem, bindDn: peer.bindDn, bindPassword: peer.password,
    baseDn: peer.baseDn, usersOu: peer.usersOu, groupsOu: peer.groupsOu, connections: 4,
  });
  try {
    const s = connector.settings;
    const paged = [...auth, '-LLL', '-E', 'pr=1000/noprompt'];
    const ldapsearch = async () => {
      await run('ldapsearch', [...paged, '-b', s.usersOu, userFilter(s), ...accountAttributes(s)], env);
      await run('ldapsearch', [...paged, '-b', s.groupsOu, groupFilter(s), s.groupNameAttribute, 'member'], env);
    };
    let listed = { accounts: 0, grants: 0 };
    const connectorRead = async () => {
      const { accounts, grants } = await readAll(connector);
      listed = { accounts: accounts.length, grants: grants.length };
    };
    let ldapsearchMs = Infinity;
    let connectorReadMs = Infinity;
    const roundRatios: number[] = [];
    for (let round = 0; round < repeats; round++) {
      const a = await timed(ldapsearch);
      const b = await timed(connectorRead);
      ldapsearchMs = Math.min(ldapsearchMs, a);
      connectorReadMs = Math.min(connectorReadMs, b);
      roundRatios.push(Number((b / a).toFixed(2)));
    }
    const loadAverage = loadavg().map((l) => Number(l.toFixed(2)));
    if (listed.accounts !== people) throw new Error(`connector listed ${listed.accounts} accounts, expected ${people}`);

    const ldif = join(peer.dir, 'creates.ldif');
    let text = '';
    for (let n = 1; n <= creates; n++) text += personLdif(peer.usersOu, people + n);
    writeFileSync(ldif, text);
    const t1 = performance.now();
    await run('ldapadd', [...auth, '-f', ldif], env);
    const ldapaddMs = performance.now() - t1;

    const changes: Change[] = [];
    for (let n = 1; n <= creates; n++) {
      const id = String(people + creates + n).padStart(6, '0');
      changes.push({
        id: `bench-${id}`, kind: 'create_account', identityKey: `E${id}`, system: 'bench-ldap', reason: 'bench', dependsOn: [],
        attributes: { uid: `user${id}`, cn: `User ${id}`, sn: id, givenName: 'User', mail: `user${id}@example.org` },
      });
    }
    let next = 0;
    const t2 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < changes.length) {
        const change = changes[next++]!;
        const outcome = await connector.apply(change);
        if (outcome.status !== 'done') throw new Error(`create ${change.identityKey}: ${JSON.stringify(outcome)}`);
      }
    }));
    const connectorCreateMs = performance.now() - t2;

    const ldapaddPerSecond = creates / (ldapaddMs / 1000);
    const connectorCreatesPerSecond = creates / (connectorCreateMs / 1000);
    return {
      people,
      groups,
      slapaddMs: Math.round(slapaddMs),
      ldapsearchMs: Math.round(ldapsearchMs),
      connectorReadMs: Math.round(connectorReadMs),
      accountsListed: listed.accounts,
      grantsListed: listed.grants,
      readRatio: Number((connectorReadMs / ldapsearchMs).toFixed(2)),
      roundRatios,
      creates,
      ldapaddPerSecond: Math.round(ldapaddPerSecond),
      connectorCreatesPerSecond: Math.round(connectorCreatesPerSecond),
      createRatio: Number((connectorCreatesPerSecond / ldapaddPerSecond).toFixed(2)),
      // maxRSS is in KiB on Linux: the high-water mark of this process.
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      loadAverage,
    };
  } finally {
    await connector.close();
    await peer.stop();
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const num = (flag: string) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined);
  const r = await runLdapBench({ people: num('--people'), creates: num('--creates'), repeats: num('--repeats') });
  if (!args.includes('--json')) {
    console.log(`ldap: ${r.people.toLocaleString('en')} people + ${r.groups} groups bulk-loaded with slapadd in ${r.slapaddMs} ms (incl. slapd start)`);
    console.log(`      reconcile read: ldapsearch pr=1000 ${r.ldapsearchMs} ms; connector accounts + grants ${r.connectorReadMs} ms ` +
      `(${r.accountsListed.toLocaleString('en')} accounts, ${r.grantsListed.toLocaleString('en')} grants) → ratio ${r.readRatio} (target ≤ 2; rounds ${r.roundRatios.join(', ')})`);
    console.log(`      creation: ldapadd ${r.ldapaddPerSecond}/s; connector ${r.connectorCreatesPerSecond}/s over ${r.creates} accounts → ratio ${r.createRatio} (target ≥ 0.8)`);
    console.log(`      peak RSS ${r.peakRssMiB} MiB (target ≤ 1,024 MiB); load average ${r.loadAverage.join(' ')} on ${availableParallelism()} cores`);
  }
  console.log(JSON.stringify({ bench: 'ldap', ...r }));
}
