/**
 * Leaver latency (issue 5): from the import of a termination to a disable
 * confirmed by read-back in OpenLDAP and in a SCIM server, through the
 * durable workers (import → replan job → plan → change jobs → connectors).
 * One leaver at a time, so each figure is one leaver's own latency.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { loadConfig } from '../src/app/config.ts';
import { reconcileSystem } from '../src/app/reconcile.ts';
import { createPlanner } from '../src/app/compute-plan.ts';
import { openPolicyConnectors } from '../src/app/connectors-from-policy.ts';
import { importSource } from '../src/app/import-source.ts';
import { createKeyring, masterKey, putSecret } from '../src/connectors/secrets/index.ts';
import { requestReplan } from '../src/jobs/schedules.ts';
import { startWorkerRuntime } from '../src/jobs/worker-runtime.ts';
import { openStore } from '../src/store/open-store.ts';
import { openLdapSkipReason, startOpenLdap } from '../test/peers/openldap.ts';
import { startScimServer } from '../test/peers/scim-server.ts';
import { writePolicyDir } from '../test/support/jml-fixture.ts';

export interface LeaverLatency {
  readonly leavers: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

const HEADER = 'employee_id,first_name,last_name,email,department,title,manager_id,location,employment_type,start_date,end_date,status\n';
const row = (i: number, end = '', status = 'active') => `${1000 + i},First${i},Last${i},p${i}@example.com,Ops,Staff,,London,Full-time,2024-01-01,${end},${status}\n`;
const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Why the leaver latency cannot run here, or false. */
export function leaverLatencySkipReason(): string | false {
  return openLdapSkipReason();
}

export async function runLeaverLatency(options: { readonly leavers?: number; readonly log?: (line: string) => void } = {}): Promise<LeaverLatency> {
  const leavers = options.leavers ?? 100;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'jml-leaver-bench-'));
  const [ldap, scim, store] = await Promise.all([startOpenLdap(), startScimServer(), openStore({ dataDir: 'memory://' })]);
  const keyring = createKeyring(masterKey(randomBytes(32)));
  let stopWorkers: (() => Promise<void>) | null = null;
  try {
    const admin = new Client({ url: ldap.ldapsUrl, tlsOptions: { ca: [ldap.caPem] } });
    await admin.bind(ldap.bindDn, ldap.password);
    await admin.add(`cn=staff,${ldap.groupsOu}`, { objectClass: 'groupOfNames', cn: 'staff', member: `cn=placeholder,${ldap.baseDn}` });
    await admin.unbind();
    await fetch(`${scim.url}/Groups`, { method: 'POST', headers: { authorization: `Bearer ${scim.token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'staff' }) });
    writeFileSync(join(dir, 'ca.pem'), ldap.caPem);
    const policyDir = writePolicyDir({
      'systems.yaml': `systems:
  - name: dir
    connector: { type: ldap, settings: { url: "${ldap.url}", ca_file: "${join(dir, 'ca.pem')}", bind_dn: "${ldap.bindDn}", base_dn: "${ldap.baseDn}", users_ou: "${ldap.usersOu}", groups_ou: "${ldap.groupsOu}" } }
    owner: "1000"
    correlation: { account: employeeNumber, identity: key }
    account: { name: "{first_name|ascii|lower}.{last_name|ascii|lower}", attributes: { sn: "{last_name}", givenName: "{first_name}" } }
  - name: app
    connector: { type: scim, settings: { base_url: "${scim.url}", allow_insecure_http: true } }
    owner: "1000"
    correlation: { account: externalId, identity: key }
    account: { name: "{email}" }
`,
      'entitlements.yaml': 'entitlements:\n  - { system: dir, name: staff }\n  - { system: app, name: staff }\n',
      'rules.yaml': 'rules:\n  - { name: everyone, when: { kind: [employee] }, grant: { entitlements: ["dir:staff", "app:staff"] } }\n',
    }, join(dir, 'policy'));
    await putSecret(store.db, keyring, 'dir', 'bind_password', ldap.password, ldap.url);
    await putSecret(store.db, keyring, 'app', 'token', scim.token, scim.url);
    const config = await loadConfig({ policyDir, dataDir: join(dir, 'unused') }, {});
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const people = Array.from({ length: leavers + 1 }, (_, i) => i);
    const importRows = async (text: string) => {
      writeFileSync(join(dir, 'hr.csv'), HEADER + text);
      const result = await importSource({ db: store.db, config }, { source: 'hr', file: join(dir, 'hr.csv'), asOf: today, actor: 'bench' });
      if (result.status !== 'applied') throw new Error(`import ${result.status}`);
    };
    await importRows(people.map((i) => row(i)).join(''));

    const workers = await startWorkerRuntime({ store, config, actor: 'bench-worker', keyring: () => keyring, options: { schedules: false, batchSize: 20, concurrency: 2 } });
    stopWorkers = () => workers.stop(5_000);
    const confirmed = async (kind: string, key?: string) => {
      let q = store.db.selectFrom('plan_changes').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', kind).where('state', 'in', ['confirmed', 'already']);
      if (key) q = q.where('identity_key', '=', key);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    await requestReplan(workers.boss, undefined, 'bench joiners');
    while ((await confirmed('add_grant')) < people.length * 2) await new Promise((r) => setTimeout(r, 200));
    // The planner must see the accounts it is to disable.
    const { policy } = await createPlanner({ db: store.db, config, actor: 'bench' }).loadPolicy();
    const connectors = await openPolicyConnectors({ db: store.db, policy, keyring: () => keyring });
    for (const system of ['dir', 'app']) await reconcileSystem({ db: store.db, policy, connectorFor: (s) => connectors.get(s), actor: 'bench' }, system);
    await connectors.close();
    log(`leaver latency: ${people.length} joiners provisioned in OpenLDAP and SCIM`);

    const latencies: number[] = [];
    for (let n = 1; n <= leavers; n++) {
      const key = String(1000 + n);
      const started = performance.now();
      await importRows(people.map((i) => (i >= 1 && i <= n ? row(i, yesterday, 'terminated') : row(i))).join(''));
      await requestReplan(workers.boss, [key], 'import');
      while ((await confirmed('disable_account', key)) < 2) await new Promise((r) => setTimeout(r, 10));
      latencies.push(performance.now() - started);
      if (n % 20 === 0) log(`leaver latency: ${n}/${leavers}, last ${Math.round(latencies.at(-1)!)} ms`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return { leavers, p50Ms: Math.round(percentile(sorted, 50)), p95Ms: Math.round(percentile(sorted, 95)), maxMs: Math.round(sorted.at(-1)!) };
  } finally {
    await stopWorkers?.();
    await store.close();
    await Promise.all([ldap.stop(), scim.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
