import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { testBackends } from '../../test/support/backends.ts';
import { readCheckpoints, takeCheckpoint } from '../app/audit/audit-checkpoint.ts';
import { generateCheckpointKey, loadSigningKey } from '../app/audit/checkpoint-key.ts';
import { appendAudit } from '../store/audit-log.ts';
import { QUEUE } from './job-queues.ts';
import { startWorkers } from './workers.ts';

test('the worker schedules a checkpoint hourly and a checkpoint job appends the signed head to the checkpoint file', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-checkpoint-schedule-'));
  const keyFile = path.join(dir, 'audit.key');
  const file = path.join(dir, 'checkpoints.jsonl');
  generateCheckpointKey(keyFile);
  const key = loadSigningKey(keyFile);
  const store = await testBackends()[0]!.open();
  const workers = await startWorkers({
    store,
    connectorFor: () => undefined,
    hooks: { checkpoint: (at) => takeCheckpoint(store.db, key, { file }, at) },
    options: { schedules: true, scheduleSettings: { timezone: 'UTC' }, pollingIntervalSeconds: 0.5 },
  });
  try {
    const schedule = (await workers.boss.getSchedules()).find((s) => s.name === QUEUE.auditCheckpoint);
    assert.equal(schedule?.cron, '0 * * * *');
    await appendAudit(store.db, { actor: 'cli:test', action: 'identity.edited', subject: 'E1', trigger: 'cli' });
    await workers.boss.send(QUEUE.auditCheckpoint, {});
    for (let i = 0; i < 100; i++) {
      if (readFileSafe(file).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [only] = readCheckpoints(file);
    assert.equal(only?.checkpoint.seq, 1);
    assert.equal(only?.checkpoint.key_id, key.keyId);
  } finally {
    await workers.stop(2_000);
    await store.close();
  }
});

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
