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

    CREATE TABLE asset_categories (
      name              text PRIMARY KEY,
      audit_every_days  integer NOT NULL CHECK (audit_every_days > 0)
    );
  `.execute(db);
}
