import { sql, type Kysely } from 'kysely';

/**
 * Durable execution and access requests.
 * - change_runs: one row per change handed to the job queue. `seq` numbers the
 *   job that may act on it next; a job carrying another seq is stale (a
 *   duplicate or an out-of-order delivery) and does nothing. The lease keeps
 *   two live workers off the same change; a dead worker's lease lapses.
 * - system_health: consecutive retryable failures per system, and quarantine.
 * - access_requests + approval_steps: who asked for what, and each stage's
 *   decision. Approved requests become rows in `assignments`.
 * - leaver_cases: each leaver's SLA clock and whether it was met.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE change_runs (
      plan_id      text NOT NULL REFERENCES plans(id),
      change_id    text NOT NULL,
      system       text,
      seq          integer NOT NULL DEFAULT 1,
      failures     integer NOT NULL DEFAULT 0,
      lease_owner  text,
      lease_until  timestamptz,
      next_at      timestamptz,
      PRIMARY KEY (plan_id, change_id)
    );

    CREATE TABLE system_health (
      system                text PRIMARY KEY,
      state                 text NOT NULL CHECK (state IN ('healthy','quarantined')),
      consecutive_failures  integer NOT NULL DEFAULT 0,
      last_error            text,
      last_failure_at       timestamptz,
      last_success_at       timestamptz,
      quarantined_at        timestamptz,
      released_at           timestamptz,
      released_by           text
    );

    CREATE TABLE access_requests (
      id              text PRIMARY KEY,
      kind            text NOT NULL CHECK (kind IN ('request','exception','joiner')),
      requester       text NOT NULL,
      identity_key    text NOT NULL REFERENCES identities(key),
      role            text,
      entitlements    jsonb NOT NULL,
      justification   text NOT NULL,
      duration_days   integer,
      state           text NOT NULL CHECK (state IN ('pending','approved','denied','cancelled')),
      created_at      timestamptz NOT NULL,
      decided_at      timestamptz,
      valid_to        timestamptz,
      review_due      timestamptz
    );
    CREATE INDEX access_requests_identity ON access_requests (identity_key, state);

    CREATE TABLE approval_steps (
      id           text PRIMARY KEY,
      request_id   text NOT NULL REFERENCES access_requests(id),
      stage        integer NOT NULL,
      stage_name   text NOT NULL,
      approvers    text[] NOT NULL,
      state        text NOT NULL CHECK (state IN ('waiting','open','approved','denied','cancelled')),
      due_at       timestamptz,
      timeout_hours  double precision NOT NULL,
      escalate_to  jsonb,
      escalations  integer NOT NULL DEFAULT 0,
      decided_by   text,
      decided_at   timestamptz,
      comment      text,
      UNIQUE (request_id, stage)
    );
    CREATE INDEX approval_steps_open ON approval_steps (state, due_at) WHERE state = 'open';

    CREATE TABLE leaver_cases (
      event_id        text PRIMARY KEY,
      identity_key    text NOT NULL,
      effective_at    timestamptz NOT NULL,
      state           text NOT NULL CHECK (state IN ('open','complete')),
      completed_at    timestamptz,
      overdue_at      timestamptz
    );
  `.execute(db);
}
