/**
 * `npm run bench`: every benchmark, each in its own process so its peak RSS is
 * its own. Figures print as each finishes, with a JSON line per workload.
 *
 *   npm run bench                      all workloads at the sizes the issues name
 *   npm run bench -- --only import,engine
 *   npm run bench -- --only engine-500k,plan-500k,import-500k   the 500,000 runs (not in the default set)
 *   npm run bench -- --only plan,plan-pglite   jml plan at 100,000 people on PostgreSQL, on PGlite (seeded first)
 *   DATABASE_URL=postgres://… npm run bench   adds the PostgreSQL runs
 *
 * Workloads that need a peer (slapd, a PostgreSQL server) are skipped with a
 * note when it is not installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : null;
const here = import.meta.dirname;
const pg = process.env.DATABASE_URL;
const hasSlapd = existsSync('/usr/sbin/slapd');

interface Workload {
  readonly name: string;
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string | undefined>;
  readonly skip?: string | false;
  /** Long runs (500,000 identities): only with --only <name>. */
  readonly optIn?: boolean;
}

const workloads: Workload[] = [
  { name: 'import', file: 'import-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'import', file: 'import-bench.ts', args: ['--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
  { name: 'import-500k', file: 'import-bench.ts', args: ['--backend', 'postgres', '--people', '500000'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL', optIn: true },
  { name: 'engine', file: 'engine-bench.ts', args: [] },
  { name: 'engine', file: 'engine-bench.ts', args: ['--shuffled'] },
  { name: 'engine-500k', file: 'engine-bench.ts', args: ['--identities', '500000'], optIn: true },
  { name: 'engine-500k', file: 'engine-bench.ts', args: ['--identities', '500000', '--shuffled'], optIn: true },
  { name: 'engine-500k', file: 'engine-bench.ts', args: ['--identities', '500000', '--grouped'], optIn: true },
  // Seeding the database takes minutes (about 5 for 100,000 people on a busy machine): only with --only.
  { name: 'plan', file: 'plan-bench.ts', args: [], skip: !pg && 'set DATABASE_URL to measure jml plan on PostgreSQL', optIn: true },
  { name: 'plan-500k', file: 'plan-bench.ts', args: ['--identities', '500000'], skip: !pg && 'set DATABASE_URL to measure jml plan on PostgreSQL', optIn: true },
  // The embedded database: 100,000 people (seeding them takes minutes too).
  { name: 'plan-pglite', file: 'plan-bench.ts', args: ['--backend', 'pglite'], optIn: true },
  { name: 'cli', file: 'cli-bench.ts', args: [] },
  { name: 'ldap', file: 'ldap-bench.ts', args: [], skip: !hasSlapd && 'slapd is not installed (bash test/peers/install-debian.sh)' },
  { name: 'apply', file: 'apply-bench.ts', args: [], skip: !hasSlapd && 'slapd is not installed (bash test/peers/install-debian.sh)' },
  { name: 'jobs', file: 'jobs-bench.ts', args: [] },
  { name: 'api', file: 'api-bench.ts', args: [] },
  { name: 'api', file: 'api-bench.ts', args: ['--under-load'], skip: !pg && 'set DATABASE_URL to measure the API while an import and a plan run' },
  { name: 'sign-in-burst', file: 'sign-in-burst-bench.ts', args: [] },
  { name: 'evidence', file: 'evidence-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'siem', file: 'siem-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'siem', file: 'siem-bench.ts', args: ['--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
  { name: 'evidence', file: 'evidence-bench.ts', args: ['--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
  { name: 'leaver', file: 'leaver-bench.ts', args: ['--backend', 'pglite'], skip: !hasSlapd && 'slapd is not installed (bash test/peers/install-debian.sh)' },
  { name: 'leaver', file: 'leaver-bench.ts', args: ['--backend', 'postgres'], skip: (!hasSlapd && 'slapd is not installed (bash test/peers/install-debian.sh)') || (!pg && 'set DATABASE_URL to measure on PostgreSQL') },
  { name: 'reviews', file: 'reviews-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'reviews', file: 'reviews-bench.ts', args: ['--identities', '0', '--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
  { name: 'scim-inbound', file: 'scim-inbound-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'scim-inbound', file: 'scim-inbound-bench.ts', args: ['--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
  { name: 'scim-filter', file: 'scim-filter-bench.ts', args: ['--backend', 'pglite'] },
  { name: 'scim-filter', file: 'scim-filter-bench.ts', args: ['--backend', 'postgres'], skip: !pg && 'set DATABASE_URL to measure on PostgreSQL' },
];

console.log(`jml benchmarks on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let failed = 0;
for (const w of workloads) {
  if (only ? !only.has(w.name) : w.optIn) continue;
  const file = path.join(here, w.file);
  if (!existsSync(file)) continue;
  console.log(`\n== ${w.name} ${w.args.join(' ')}`);
  if (w.skip) {
    console.log(`skipped: ${w.skip}`);
    continue;
  }
  const run = spawnSync(process.execPath, [file, ...w.args], { stdio: 'inherit', env: { ...process.env, ...w.env } });
  if (run.status !== 0) {
    failed += 1;
    console.log(`${w.name} failed (exit ${run.status})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
