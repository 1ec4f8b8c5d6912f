import { sql, type Kysely } from 'kysely';

/**
 * The complete asset register. An asset's `kind` is its category (laptop,
 * phone, security_key …); it gains a model and manufacturer, purchase date and
 * warranty (in months, as Snipe-IT counts it), a status `in_repair`, the time
 * its holder accepted it (null while a check-out waits for the holder), and its
 * physical audit: when last seen and when next due. Each category may set an
 * audit cadence in days. Holder history is not a second table: it is the audit
 * trail of `asset:<tag>`, which already records every before and after.
 *
 * The monthly end-user check is a campaign per month; each item asks one
 * respondent about one thing: an asset they hold (by serial), or an access
 * assignment (request or exception) they hold. Owners answer for their
 * non-human identities. An answer is recorded once, with what it led to.
 *
 * Dates without a time (purchase) are stored as ISO text so that no driver
 * turns them into a local-midnight timestamp.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE assets
      ADD COLUMN model           text,
      ADD COLUMN manufacturer    text,
      ADD COLUMN purchase_date   text CHECK (purchase_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      ADD COLUMN warranty_months integer CHECK (warranty_months >= 0),
      ADD COLUMN notes           text NOT NULL DEFAULT '',
      ADD COLUMN accepted_at     timestamptz,
      ADD COLUMN last_audited_at timestamptz,
      ADD COLUMN next_audit_at   timestamptz;
    ALTER TABLE assets DROP CONSTRAINT assets_status_check;
    ALTER TABLE assets ADD CONSTRAINT assets_status_check
      CHECK (status IN ('in_stock','assigned','in_repair','lost','stolen','retired','collected'));
    CREATE INDEX assets_next_audit ON assets (next_audit_at) WHERE next_audit_at IS NOT NULL;

    CREATE TABLE attestation_campaigns (
      id          text PRIMARY KEY,
      period      text NOT NULL UNIQUE CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
      opened_at   timestamptz NOT NULL,
      due_at      timestamptz NOT NULL,
      opened_by   text NOT NULL
    );
    CREATE TABLE attestation_items (
      id             text PRIMARY KEY,
      campaign_id    text NOT NULL REFERENCES attestation_campaigns(id),
      respondent_key text NOT NULL REFERENCES identities(key),
      subject_key    text NOT NULL REFERENCES identities(key),
      item_type      text NOT NULL CHECK (item_type IN ('asset','access')),
      ref            text NOT NULL,
      label          text NOT NULL,
      answer         text CHECK (answer IN ('confirmed','not_mine','lost','stolen','needed','no_longer_needed')),
      answered_at    timestamptz,
      action         text,
      UNIQUE (campaign_id, subject_key, item_type, ref)
    );
    CREATE INDEX attestation_items_open ON attestation_items (campaign_id, respondent_key) WHERE answer IS NULL;

    CREATE TABLE asset_categories (
      name              text PRIMARY KEY,
      audit_every_days  integer NOT NULL CHECK (audit_every_days > 0)
    );
  `.execute(db);
}
