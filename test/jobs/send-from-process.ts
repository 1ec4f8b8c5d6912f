/**
 * A process of its own that sends to jml's queues and exits, as `jml import`
 * or an API process without workers does: `replan KEY` asks for a replan,
 * `plan PLAN_ID` submits a one-change plan. Prints the time just before the
 * send committed, in milliseconds since the epoch.
 * Usage: node send-from-process.ts DATABASE_URL replan|plan ARG
 */
import { openStore } from '../../src/store/open-store.ts';
import { openReplanQueue } from '../../src/jobs/replan-queue.ts';
import { startJobBoss } from '../../src/jobs/job-boss.ts';
import { submitPlan } from '../../src/jobs/change-job.ts';

const [url, mode, arg] = process.argv.slice(2);
if (!url || !arg || (mode !== 'replan' && mode !== 'plan')) throw new Error('usage: send-from-process.ts DATABASE_URL replan|plan ARG');
const store = await openStore({ databaseUrl: url, poolSize: 2 });
try {
  if (mode === 'replan') {
    const queue = openReplanQueue(store);
    const sentAt = Date.now();
    await queue.requestReplan([arg], 'test', { leaver: true });
    process.stdout.write(`${sentAt}\n`);
    await queue.close();
  } else {
    const boss = await startJobBoss(store.db, store.backend, { schedule: false, supervise: false });
    const plan = { id: arg, computedAt: new Date().toISOString(), fingerprint: 'f', changes: [{ id: 'create', kind: 'create_account' as const, identityKey: 'W1', system: 'wiki', reason: 'joiner', dependsOn: [] }] };
    const sentAt = Date.now();
    await submitPlan({ db: store.db, boss, actor: 'test' }, plan);
    process.stdout.write(`${sentAt}\n`);
    await boss.stop({ graceful: false, close: false });
  }
} finally {
  await store.close();
}
