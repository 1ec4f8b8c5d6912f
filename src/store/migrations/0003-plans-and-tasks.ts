import { sql, type Kysely } from 'kysely';

/**
 * Applied plans and their per-change results; tasks for people (the manual
 * connector). A plan row keeps the whole plan as JSON so a worker can run one
 * change of it alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE plans (
      id           text PRIMARY KEY,
      fingerprint  text NOT NULL,
      computed_at  text NOT NULL,
      plan         jsonb NOT NULL,
      status       text NOT NULL CHECK (status IN ('applying','applied','partial')),
      actor        text NOT NULL,
      created_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL
    );

    CREATE TABLE plan_changes (
      plan_id       text NOT NULL REFERENCES plans(id),
      change_id     text NOT NULL,
      position      integer NOT NULL,
      kind          text NOT NULL,
      system        text,
      identity_key  text NOT NULL,
      state         text NOT NULL CHECK (state IN ('planned','running','already','confirmed','pending','parked','blocked')),
      attempts      integer NOT NULL DEFAULT 0,
      last_error    text,
      account_id    text,
      task_id       text,
      started_at    timestamptz,
      finished_at   timestamptz,
      updated_at    timestamptz NOT NULL,
      PRIMARY KEY (plan_id, change_id)
    );
    CREATE INDEX plan_changes_state ON plan_changes (state) WHERE state IN ('pending','parked','running');

    CREATE SEQUENCE task_settle_seq;
    CREATE TABLE tasks (
      id                  text PRIMARY KEY,
      change_id           text NOT NULL,
      plan_id             text,
      system              text NOT NULL,
      kind                text NOT NULL,
      identity_key        text NOT NULL,
      change              jsonb NOT NULL,
      instruction         text NOT NULL,
      owner               text,
      status              text NOT NULL CHECK (status IN ('open','done','confirmed')),
      needs_confirmation  boolean NOT NULL,
      due_at              timestamptz NOT NULL,
      created_at          timestamptz NOT NULL,
      done_by             text,
      done_at             timestamptz,
      evidence_note       text,
      evidence_sha256     text,
      closed_by           text,
      closed_at           timestamptz,
      confirmed_by        text,
      confirmed_at        timestamptz,
      -- Order in which finished tasks became fact; the manual system's state is their fold.
      settled_seq         bigint
    );
    -- One open task per change: applying the same change twice points at the same task.
    CREATE UNIQUE INDEX tasks_open_change ON tasks (change_id) WHERE status = 'open';
    CREATE INDEX tasks_system_identity ON tasks (system, identity_key, settled_seq);
    CREATE INDEX tasks_status_due ON tasks (status, due_at);
  `.execute(db);
}
