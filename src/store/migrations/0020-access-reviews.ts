import { sql, type Kysely } from 'kysely';

/**
 * Access review campaigns: one row per campaign (the review definition as it
 * stood at the start, the snapshot hash, the close outcome and any hold), one
 * per item (identity × entitlement, or an account holding none) with the context
 * shown to reviewers, and one per decision tied to its audit entry.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE review_campaigns (
      id             text PRIMARY KEY,
      review         text NOT NULL,
      definition     jsonb NOT NULL,
      state          text NOT NULL CHECK (state IN ('open','held','applying','complete')),
      snapshot_hash  text NOT NULL,
      started_at     timestamptz NOT NULL,
      started_by     text NOT NULL,
      due_at         timestamptz NOT NULL,
      closed_at      timestamptz,
      closed_by      text,
      -- The blast-radius preview and why the cap held it, once closed.
      outcome        jsonb,
      released_by    text,
      -- Reminders and the escalation already sent (keys like 'reminder:2027-01-07T23:00:00.000Z', 'escalation').
      notified       jsonb NOT NULL DEFAULT '[]'
    );
    CREATE TABLE review_items (
      id             text PRIMARY KEY,
      campaign_id    text NOT NULL REFERENCES review_campaigns(id),
      identity_key   text NOT NULL,
      system         text NOT NULL,
      entitlement    text,
      privileged     boolean NOT NULL,
      context        jsonb NOT NULL,
      stage          integer NOT NULL DEFAULT 0,
      reviewers      text[] NOT NULL DEFAULT '{}',
      outcome        text CHECK (outcome IN ('keep','remove','reduce')),
      outcome_by     text CHECK (outcome_by IN ('decision','no_response')),
      until          text,
      -- Removal: planned (assignment ended, waiting for the plan), confirmed (read back absent), blocked (policy gives it).
      removal        text CHECK (removal IN ('planned','confirmed','blocked')),
      removal_detail text
    );
    CREATE INDEX review_items_campaign ON review_items (campaign_id);
    CREATE INDEX review_items_open_reviewers ON review_items USING gin (reviewers) WHERE outcome IS NULL;
    CREATE TABLE review_decisions (
      id           text PRIMARY KEY,
      campaign_id  text NOT NULL REFERENCES review_campaigns(id),
      item_id      text NOT NULL REFERENCES review_items(id),
      stage        integer NOT NULL,
      reviewer     text NOT NULL,
      decision     text NOT NULL CHECK (decision IN ('keep','remove','reduce')),
      until        text,
      comment      text NOT NULL,
      at           timestamptz NOT NULL,
      audit_seq    bigint NOT NULL
    );
    CREATE INDEX review_decisions_campaign ON review_decisions (campaign_id, at);
  `.execute(db);
}
