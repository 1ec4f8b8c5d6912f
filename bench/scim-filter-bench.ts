/**
 * SCIM list filters: one page (count 100) of a source of N Users as GET
 * /Users serves it (src/app/inbound/scim-user-query.ts: flat paths in SQL,
 * deep ones finished in memory), with every path in SQL (`deepPaths`), and
 * the former way — every User of the source read and filtered, sorted and
 * paged in memory — for the filters provisioning clients and admins send.
 *
 *   node bench/scim-filter-bench.ts [--backend pglite|postgres] [--users N] [--rounds N]
 *
 * Goal: a filtered page of a 10,000-user source in ≤ 200 ms (median), and never slower than reading the source into memory.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { sortResources, toScimUser } from '../src/api/scim/scim-representation.ts';
import { matchesScimFilter, parseAttributePath, parseScimFilter } from '../src/app/inbound/scim-filter.ts';
import { listScimUsers, storableResource, type StoredUser } from '../src/app/inbound/scim-resource-store.ts';
import { findScimUsers } from '../src/app/inbound/scim-user-query.ts';
import { ENTERPRISE_USER_SCHEMA } from '../src/sources/scim-user-table.ts';
import { openStore } from '../src/store/open-store.ts';
import { createScratchDatabase } from '../test/support/scratch-database.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'pglite' }, users: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '7' } } });
const N = Number(values.users);
const ROUNDS = Number(values.rounds);
const GOAL_MS = 200;
const backend = values.backend === 'postgres' ? 'postgres' : 'pglite';
const scratch = backend === 'postgres' ? await createScratchDatabase(process.env.DATABASE_URL ?? process.env.JML_TEST_DATABASE_URL ?? '', 'jml_bench') : null;
const store = await openStore(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
const SOURCE = 'entra';
const departments = ['Engineering', 'Sales', 'Finance', 'Operations', 'Legal'];

for (let from = 0; from < N; from += 1000) {
  const rows = Array.from({ length: Math.min(1000, N - from) }, (_, k) => {
    const i = from + k;
    const id = `W${String(i).padStart(6, '0')}`;
    const resource = storableResource({
      externalId: id,
      userName: `${id.toLowerCase()}@contoso.example`,
      title: i % 7 === 0 ? 'Engineering Lead' : 'Consultant',
      active: i % 13 === 0 ? 'False' : 'True',
      name: { givenName: `Pat${i % 97}`, familyName: `Worker${i}` },
      emails: [{ type: 'work', value: `${id.toLowerCase()}@contoso.example`, primary: true }, { type: 'home', value: `p${i}@home.example` }],
      [ENTERPRISE_USER_SCHEMA]: { department: departments[i % departments.length], employeeNumber: String(i), manager: { value: 'W000001' } },
    });
    const at = new Date(Date.UTC(2026, 10, 1)).toISOString();
    return { source: SOURCE, id, resource: JSON.stringify(resource), version: 1, present: true, created_at: at, updated_at: at };
  });
  await store.db.insertInto('scim_resources').values(rows).execute();
}

const FILTERS: readonly { readonly name: string; readonly filter: string; readonly sortBy?: string }[] = [
  { name: 'userName eq (index)', filter: 'userName eq "w004242@contoso.example"' },
  { name: 'title co', filter: 'title co "engineering"' },
  { name: 'department eq and active', filter: `${ENTERPRISE_USER_SCHEMA}:department eq "Sales" and active eq true` },
  { name: 'value path', filter: 'emails[type eq "work" and value ew "7@contoso.example"]' },
  { name: 'sw sorted by name', filter: 'userName sw "w00"', sortBy: 'name.familyName' },
];

const represent = (u: StoredUser) => toScimUser(u, `http://localhost/scim/v2/Users/${encodeURIComponent(u.id)}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async (run: () => Promise<unknown>) => {
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return median(ms);
};

console.log(`scim filters on ${backend}: ${N} Users, median of ${ROUNDS}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let missed = 0;
for (const f of FILTERS) {
  const filter = parseScimFilter(f.filter);
  const sortBy = f.sortBy ? parseAttributePath(f.sortBy) : null;
  // As GET /Users serves it: SQL's page, or SQL's candidates finished in memory (deep paths, see scim-filter-sql.ts).
  const served = (deepPaths: boolean) => time(async () => {
    const found = await findScimUsers(store.db, SOURCE, { filter, sortBy, descending: false, startIndex: 1, count: 100 }, { deepPaths });
    if (found.kind === 'page') return found.users;
    let all = found.users.map(represent).filter((r) => matchesScimFilter(r, filter));
    if (f.sortBy) all = sortResources(all, f.sortBy, 'ascending');
    return all.slice(0, 100);
  });
  const sql = await served(false);
  const deep = await served(true);
  const memory = await time(async () => {
    let all = (await listScimUsers(store.db, SOURCE)).map(represent).filter((r) => matchesScimFilter(r, filter));
    if (f.sortBy) all = sortResources(all, f.sortBy, 'ascending');
    return all.slice(0, 100);
  });
  const ok = sql <= GOAL_MS && sql <= memory * 1.1;
  if (!ok) missed += 1;
  console.log(`  ${f.name.padEnd(26)} served ${sql.toFixed(1).padStart(7)} ms   all in SQL ${deep.toFixed(1).padStart(8)} ms   all in memory ${memory.toFixed(1).padStart(7)} ms   goal (served) ≤ ${GOAL_MS} ms and ≤ memory: ${ok ? 'met' : 'MISSED'}`);
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
await store.close();
await scratch?.drop();
process.exitCode = missed > 0 ? 1 : 0;
