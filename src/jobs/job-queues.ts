/**
 * The job queues jml uses, their payloads (validated when a job is taken, since
 * a payload crossed a process boundary) and the options they are created with.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChangeKind } from '../domain/change.ts';

export const QUEUE = {
  applyChange: 'apply-change',
  applySweep: 'apply-sweep',
  lifecycleDue: 'lifecycle-due',
  assignmentsExpire: 'assignments-expire',
  reconcile: 'reconcile',
  dormantScan: 'dormant-scan',
  riskScan: 'risk-scan',
  approvalsEscalate: 'approvals-escalate',
  leaverSla: 'leaver-sla',
  quarantineProbe: 'quarantine-probe',
  exceptionsReview: 'exceptions-review',
  replan: 'replan',
  auditCheckpoint: 'audit-checkpoint',
  reviewsSchedule: 'reviews-schedule',
  notifyEmail: 'notify-email',
  notifyWebhook: 'notify-webhook',
  /** Where notifications go after their last attempt, or at once when the receiver refused them (kept for inspection). */
  notifyDead: 'notify-dead',
  monthlyCheck: 'monthly-check',
  auditStream: 'audit-stream',
  /** Runs (or resumes) an asynchronous SCIM Bulk: { batchId }. */
  scimBatch: 'scim-batch',
  /** Finds asynchronous SCIM Bulks no live process holds and sends each to scim-batch. */
  scimBatchSweep: 'scim-batch-sweep',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/**
 * A SIEM stream job sends for this long, then ends and is followed by the next
 * (queued behind it): a worker that dies mid-slice holds the stream only until
 * its job expires.
 */
export const AUDIT_STREAM_SLICE_MS = 30_000;
export const AUDIT_STREAM_EXPIRE_SECONDS = 90;

export const auditStreamJobSchema = z.strictObject({ name: z.string().min(1) });

/**
 * pg-boss priority of a leaver's change jobs. Workers fetch the highest
 * priority first and, within one priority, in order of creation: a leaver's
 * changes overtake every other change in the queue but not an earlier leaver's.
 */
export const LEAVER_PRIORITY = 10;

/**
 * The leaver steps that end the person's ability to act (accounts disabled,
 * sessions and credentials revoked) go one step higher, so that with many
 * leavers at once every leaver is locked out before any leaver's grants are
 * cleaned up. The order within one leaver is its dependencies', not this.
 */
export const LEAVER_LOCKOUT_PRIORITY = 11;
const LOCKOUT_KINDS: readonly ChangeKind[] = ['disable_account', 'revoke_sessions', 'revoke_credential'];

/** The queue priority of a change of this kind, for an identity that has left or not. */
export function changePriority(kind: ChangeKind, leaver: boolean): number {
  if (!leaver) return 0;
  return LOCKOUT_KINDS.includes(kind) ? LEAVER_LOCKOUT_PRIORITY : LEAVER_PRIORITY;
}

export const changeJobSchema = z.strictObject({
  planId: z.string().min(1),
  changeId: z.string().min(1),
  /** Which run of the change this job is; a job whose seq is not the change's current one is stale. */
  seq: z.number().int().min(1),
});
export type ChangeJob = z.infer<typeof changeJobSchema>;

/** Plan and submit for these identities (all when absent): sent after an import or an approval. */
export const replanJobSchema = z.strictObject({ identityKeys: z.array(z.string().min(1)).optional(), reason: z.string().default('requested') });

/** One rendered email (a digest or an urgent notice); `key` is the digest key (address/day). */
export const notifyEmailJobSchema = z.strictObject({ key: z.string().min(1), to: z.string().min(1), subject: z.string(), text: z.string(), html: z.string() });

/** One webhook delivery: the configured endpoint's name (its URL and secret stay in configuration) and the JSON body. */
export const notifyWebhookJobSchema = z.strictObject({ endpoint: z.string().min(1), body: z.record(z.string(), z.unknown()) });

export const scimBatchJobSchema = z.strictObject({ batchId: z.string().min(1).max(200) });

export const reconcileJobSchema = z.strictObject({ system: z.string().min(1).optional() }).default({});

/**
 * A job id derived from what the job is about, so sending the same job twice
 * inserts it once (pg-boss ignores a second insert with the same id).
 */
export function deterministicJobId(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // Shaped as a version-5-style UUID: pg-boss stores ids as uuid.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function changeJobId(job: ChangeJob): string {
  return deterministicJobId('change', job.planId, job.changeId, job.seq);
}
