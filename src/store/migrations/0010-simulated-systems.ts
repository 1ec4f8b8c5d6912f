import { sql, type Kysely } from 'kysely';

/**
 * Simulated systems (the `simulated` connector): a downstream system whose
 * accounts, groups, grants, sessions and credentials live in jml's own
 * database, so `jml apply` in one process and `jml reconcile` in another see
 * the same system. For demos and tests; nothing else reads these tables.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE sim_systems (
      system        text PRIMARY KEY,
      next_account  integer NOT NULL DEFAULT 1
    );

    CREATE TABLE sim_accounts (
      system        text NOT NULL REFERENCES sim_systems(system) ON DELETE CASCADE,
      account_id    text NOT NULL,
      -- Correlation: the identity key jml created the account for; null for accounts made by hand.
      identity_key  text,
      name          text NOT NULL,
      enabled       boolean NOT NULL,
      attributes    jsonb NOT NULL DEFAULT '{}',
      created_at    timestamptz NOT NULL,
      PRIMARY KEY (system, account_id)
    );
    -- One account per identity: a create_account applied twice finds the first.
    CREATE UNIQUE INDEX sim_accounts_identity ON sim_accounts (system, identity_key) WHERE identity_key IS NOT NULL;

    CREATE TABLE sim_groups (
      system        text NOT NULL REFERENCES sim_systems(system) ON DELETE CASCADE,
      entitlement   text NOT NULL,
      display_name  text NOT NULL,
      PRIMARY KEY (system, entitlement)
    );

    CREATE TABLE sim_grants (
      system       text NOT NULL,
      account_id   text NOT NULL,
      entitlement  text NOT NULL,
      PRIMARY KEY (system, account_id, entitlement),
      FOREIGN KEY (system, account_id) REFERENCES sim_accounts (system, account_id) ON DELETE CASCADE,
      FOREIGN KEY (system, entitlement) REFERENCES sim_groups (system, entitlement) ON DELETE CASCADE
    );

    CREATE TABLE sim_sessions (
      system      text NOT NULL,
      account_id  text NOT NULL,
      live        integer NOT NULL CHECK (live >= 0),
      PRIMARY KEY (system, account_id),
      FOREIGN KEY (system, account_id) REFERENCES sim_accounts (system, account_id) ON DELETE CASCADE
    );

    CREATE TABLE sim_credentials (
      system         text NOT NULL REFERENCES sim_systems(system) ON DELETE CASCADE,
      credential_id  text NOT NULL,
      account_id     text,
      status         text NOT NULL CHECK (status IN ('active','revoked')),
      -- Change ids of the rotations carried out, so a rotation reads back exactly.
      rotations      jsonb NOT NULL DEFAULT '[]',
      PRIMARY KEY (system, credential_id)
    );
  `.execute(db);
}
