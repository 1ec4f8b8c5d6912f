import { sql, type Kysely } from 'kysely';

/**
 * Reconciliation: each run reads a system's accounts, entitlements and grants
 * page by page into its own snapshot rows, with a checkpoint (phase + cursor)
 * committed with every page so a crashed run resumes where it stopped. The
 * latest completed run of a system is what the plan observes; older runs'
 * rows are dropped when a newer one completes. Findings are what the
 * detectors raise; assets are equipment in identities' custody; policy
 * versions remember every policy hash jml has loaded.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE reconcile_runs (
      id           text PRIMARY KEY,
      system       text NOT NULL,
      status       text NOT NULL CHECK (status IN ('running','completed','failed')),
      phase        text NOT NULL CHECK (phase IN ('accounts','entitlements','grants','correlate','done')),
      cursor       text,
      pages        integer NOT NULL DEFAULT 0,
      summary      jsonb,
      error        text,
      actor        text NOT NULL,
      started_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL,
      finished_at  timestamptz
    );
    -- At most one run in progress per system: a second start resumes it.
    CREATE UNIQUE INDEX reconcile_runs_running ON reconcile_runs (system) WHERE status = 'running';
    CREATE INDEX reconcile_runs_latest ON reconcile_runs (system, finished_at) WHERE status = 'completed';

    CREATE TABLE observed_accounts (
      run_id         text NOT NULL REFERENCES reconcile_runs(id) ON DELETE CASCADE,
      system         text NOT NULL,
      account_id     text NOT NULL,
      name           text NOT NULL,
      enabled        boolean NOT NULL,
      attributes     jsonb NOT NULL,
      last_login_at  text,
      identity_key   text,
      situation      text CHECK (situation IN ('linked','unlinked','unmatched','disputed')),
      PRIMARY KEY (run_id, account_id)
    );
    CREATE INDEX observed_accounts_identity ON observed_accounts (identity_key) WHERE identity_key IS NOT NULL;

    CREATE TABLE observed_entitlements (
      run_id        text NOT NULL REFERENCES reconcile_runs(id) ON DELETE CASCADE,
      system        text NOT NULL,
      entitlement   text NOT NULL,
      display_name  text NOT NULL,
      type          text NOT NULL,
      PRIMARY KEY (run_id, entitlement)
    );

    CREATE TABLE observed_grants (
      run_id       text NOT NULL REFERENCES reconcile_runs(id) ON DELETE CASCADE,
      system       text NOT NULL,
      account_id   text NOT NULL,
      entitlement  text NOT NULL,
      PRIMARY KEY (run_id, account_id, entitlement)
    );

    CREATE TABLE findings (
      id            text PRIMARY KEY,
      kind          text NOT NULL,
      system        text,
      identity_key  text,
      account_id    text,
      entitlement   text,
      detail        text NOT NULL,
      first_seen    timestamptz NOT NULL,
      last_seen     timestamptz NOT NULL,
      state         text NOT NULL CHECK (state IN ('open','resolved')),
      resolved_at   timestamptz
    );
    CREATE INDEX findings_open ON findings (system, kind) WHERE state = 'open';

    CREATE TABLE assets (
      tag          text PRIMARY KEY,
      serial       text,
      kind         text NOT NULL,
      description  text NOT NULL DEFAULT '',
      holder_key   text REFERENCES identities(key),
      location     text,
      status       text NOT NULL CHECK (status IN ('in_stock','assigned','lost','stolen','retired','collected')),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX assets_holder ON assets (holder_key) WHERE holder_key IS NOT NULL;

    CREATE TABLE policy_versions (
      hash       text PRIMARY KEY,
      files      jsonb NOT NULL,
      loaded_at  timestamptz NOT NULL,
      loaded_by  text NOT NULL
    );
  `.execute(db);
}
