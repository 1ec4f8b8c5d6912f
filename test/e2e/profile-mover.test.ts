/**
 * A mover whose profile changes, through the real HR import, planner, apply
 * executor and store (both backends): an engineer holding the engineer kit
 * moves to Sales; the next plan asks IT to issue what the sales kit calls for
 * and to recover what it no longer does, as tasks for the asset custodian;
 * a monitor (a category no profile names) stays with them; once IT closes the
 * tasks and the register reflects the swap, a new plan has nothing left to do.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkOutAsset } from '../../src/app/assets/asset-custody.ts';
import { createPlanner } from '../../src/app/compute-plan.ts';
import { loadConfig } from '../../src/app/config.ts';
import { openPolicyConnectors } from '../../src/app/connectors-from-policy.ts';
import { importSource } from '../../src/app/import-source.ts';
import { JML_TASK_SYSTEM } from '../../src/app/internal-changes.ts';
import { executePlan } from '../../src/jobs/plan-executor.ts';
import { testBackends } from '../support/backends.ts';
import { HR_HEADER, hrRow, tempDir } from '../support/hr-files.ts';
import { writePolicyDir } from '../support/jml-fixture.ts';

const PROFILES = `profiles:
  - name: engineer
    when: { equals: { department: Engineering } }
    kit:
      - { kind: laptop, model: developer-32gb }
      - security_key
  - name: sales
    when: { equals: { department: Sales } }
    kit:
      - { kind: laptop, model: standard-16gb }
      - phone
`;

for (const backend of testBackends()) {
  describe(`a mover's profile change (${backend.name})`, () => {
    test('moving from Engineering to Sales plans the kit difference as custodian tasks: issue the sales laptop and phone, recover the developer laptop and security key, leave the monitor', { timeout: 120_000 }, async () => {
      const store = await backend.open();
      const dir = tempDir('jml-profile-mover-');
      const policyDir = writePolicyDir({ 'profiles.yaml': PROFILES }, join(dir, 'policy'));
      const config = { ...(await loadConfig({ policyDir, dataDir: join(dir, 'data') }, {})), timezone: 'Europe/Paris' };
      let now = new Date('2026-03-02T09:00:00Z');
      const importHr = async (department: string, asOf: string) => {
        writeFileSync(join(dir, 'hr.csv'), `${HR_HEADER}\n${hrRow({ id: 'E1', department, start: '2024-01-15' })}\n`);
        const result = await importSource({ db: store.db, config }, { source: 'hr', file: join(dir, 'hr.csv'), asOf, actor: 'test', now });
        assert.equal(result.status, 'applied', JSON.stringify(result.errors));
      };
      try {
        await importHr('Engineering', '2026-03-02');
        await store.db.insertInto('assets').values([
          { tag: 'LAP-DEV', serial: 'SN-DEV', kind: 'laptop', model: 'developer-32gb', description: 'ThinkPad P1', location: 'Paris', status: 'in_stock' },
          { tag: 'KEY-1', serial: 'SN-KEY1', kind: 'security_key', description: 'YubiKey', location: 'Paris', status: 'in_stock' },
          { tag: 'MON-1', serial: 'SN-MON1', kind: 'monitor', description: '27" display', location: 'Paris', status: 'in_stock' },
          { tag: 'LAP-STD', serial: 'SN-STD', kind: 'laptop', model: 'standard-16gb', description: 'ThinkPad T14', location: 'Paris', status: 'in_stock' },
          { tag: 'PHN-1', serial: 'SN-PHN1', kind: 'phone', description: 'Pixel', location: 'Paris', status: 'in_stock' },
        ]).execute();
        for (const tag of ['LAP-DEV', 'KEY-1', 'MON-1']) await checkOutAsset(store.db, { tag, to: 'E1', actor: 'it-desk' }, now);

        const planner = createPlanner({ db: store.db, config, actor: 'test', now: () => now });
        const { policy } = await planner.loadPolicy();
        const connectors = await openPolicyConnectors({ db: store.db, policy, now: () => now, actor: 'test', timezone: 'Europe/Paris', internal: { assetCustodian: 'it-desk' } });
        const scope = { identityKeys: ['E1'] };
        const apply = async () => {
          const { plan } = await planner.compute(scope);
          await executePlan({ store, actor: 'test', now: () => now, connectorFor: connectors.connectorFor, tasksFor: connectors.tasksFor, pollMs: 50 }, plan, () => planner.currentFingerprint(scope));
          return plan.changes.map((c) => `${c.kind} ${c.assetTag ?? `${String(c.attributes?.kind)}:${String(c.attributes?.model)}`}`).sort();
        };
        try {
          assert.deepEqual(await apply(), [], 'an engineer holding the engineer kit needs nothing');

          now = new Date('2026-03-16T09:00:00Z');
          await importHr('Sales', '2026-03-16');
          const mover = await store.db.selectFrom('lifecycle_events').select('type').where('identity_key', '=', 'E1').orderBy('seq', 'desc').executeTakeFirstOrThrow();
          assert.equal(mover.type, 'mover');
          assert.deepEqual(await apply(), ['collect_asset KEY-1', 'collect_asset LAP-DEV', 'manual_task laptop:standard-16gb', 'manual_task phone:null']);
          const open = await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, identityKey: 'E1', status: 'open' });
          assert.deepEqual(open.map((t) => `${t.kind} ${t.owner} ${t.dueAt}`).sort(), [
            // Due at the end of the move's day in Paris (UTC+1 in March before the 29th).
            'collect_asset it-desk 2026-03-16T22:59:59.999Z',
            'collect_asset it-desk 2026-03-16T22:59:59.999Z',
            'manual_task it-desk 2026-03-16T22:59:59.999Z',
            'manual_task it-desk 2026-03-16T22:59:59.999Z',
          ]);
          assert.match(open.find((t) => t.change.assetTag === 'LAP-DEV')!.instruction, /Recover asset LAP-DEV \(laptop, ThinkPad P1, serial SN-DEV\) from E1/);
          assert.match(open.find((t) => t.change.attributes?.kind === 'phone')!.instruction, /profile sales: issue phone for E1/);
          assert.deepEqual(await apply(), ['collect_asset KEY-1', 'collect_asset LAP-DEV', 'manual_task laptop:standard-16gb', 'manual_task phone:null'], 'planned again while open: the same changes');
          assert.equal((await connectors.internal.tasks.listTasks({ system: JML_TASK_SYSTEM, identityKey: 'E1' })).length, 4, 'and no second task');

          // IT swaps the kit: recovers with evidence, checks the new items out.
          for (const task of open) {
            const tag = task.change.assetTag;
            const note = tag ? `returned, serial ${tag === 'KEY-1' ? 'SN-KEY1' : 'SN-DEV'} seen, wiped` : `issued ${task.change.attributes?.kind === 'phone' ? 'PHN-1' : 'LAP-STD'}`;
            await connectors.internal.tasks.closeTask(task.id, { doneBy: 'it-desk', doneAt: now.toISOString(), note }, 'it-desk');
          }
          for (const tag of ['LAP-STD', 'PHN-1']) await checkOutAsset(store.db, { tag, to: 'E1', actor: 'it-desk' }, now);
          await apply();
          const held = await store.db.selectFrom('assets').select(['tag', 'status', 'holder_key']).orderBy('tag').execute();
          assert.deepEqual(held.map((a) => `${a.tag} ${a.status} ${a.holder_key ?? '-'}`), ['KEY-1 collected -', 'LAP-DEV collected -', 'LAP-STD assigned E1', 'MON-1 assigned E1', 'PHN-1 assigned E1']);
          assert.deepEqual(await apply(), [], 'the sales kit is complete and nothing else is asked');
        } finally {
          await connectors.close();
        }
      } finally {
        await store.close();
      }
    });
  });
}
