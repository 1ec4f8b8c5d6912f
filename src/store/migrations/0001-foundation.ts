import { sql, type Kysely } from 'kysely';

/** Identities, source records, lifecycle events, imports, credentials and the hash-chained audit log. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE identities (
      key         text PRIMARY KEY,
      kind        text NOT NULL,
      status      text NOT NULL,
      source      text NOT NULL,
      attributes  jsonb NOT NULL DEFAULT '{}',
      start_date  date,
      end_date    date,
      owner       text,
      sponsor     text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX identities_status ON identities (status);
    CREATE INDEX identities_email ON identities (lower(attributes->>'email'));
    CREATE INDEX identities_owner ON identities (owner) WHERE owner IS NOT NULL;

    CREATE TABLE source_records (
      source          text NOT NULL,
      record_key      text NOT NULL,
      identity_key    text NOT NULL REFERENCES identities(key),
      data            jsonb NOT NULL,
      present         boolean NOT NULL DEFAULT true,
      last_import_id  text NOT NULL,
      updated_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, record_key)
    );
    CREATE INDEX source_records_identity ON source_records (identity_key);

    CREATE TABLE lifecycle_events (
      id              text PRIMARY KEY,
      seq             bigserial NOT NULL UNIQUE,
      type            text NOT NULL CHECK (type IN ('joiner','mover','leaver','rehire')),
      identity_key    text NOT NULL REFERENCES identities(key),
      source          text NOT NULL,
      record_key      text NOT NULL,
      effective_date  date NOT NULL,
      effective_at    timestamptz NOT NULL,
      detected_at     timestamptz NOT NULL,
      changes         jsonb NOT NULL,
      state           text NOT NULL CHECK (state IN ('scheduled','applied','rescinded')),
      import_id       text
    );
    CREATE INDEX lifecycle_events_identity ON lifecycle_events (identity_key, effective_at, seq);
    CREATE INDEX lifecycle_events_due ON lifecycle_events (effective_at) WHERE state = 'scheduled';

    CREATE TABLE imports (
      id            text PRIMARY KEY,
      source        text NOT NULL,
      file_name     text NOT NULL,
      file_sha256   text NOT NULL,
      as_of         date NOT NULL,
      status        text NOT NULL,
      rows_total    integer NOT NULL,
      rows_valid    integer NOT NULL,
      rows_invalid  integer NOT NULL,
      summary       jsonb NOT NULL,
      actor         text NOT NULL,
      started_at    timestamptz NOT NULL
    );

    CREATE TABLE credentials (
      id               text PRIMARY KEY,
      identity_key     text NOT NULL REFERENCES identities(key),
      system           text NOT NULL,
      kind             text NOT NULL,
      name             text NOT NULL,
      created_at       text NOT NULL,
      last_rotated_at  text,
      expires_at       text,
      status           text NOT NULL DEFAULT 'active'
    );
    CREATE INDEX credentials_identity ON credentials (identity_key);

    CREATE TABLE audit_log (
      seq        bigint PRIMARY KEY,
      id         text NOT NULL UNIQUE,
      at         text NOT NULL,
      actor      text NOT NULL,
      action     text NOT NULL,
      subject    text NOT NULL,
      trigger    text NOT NULL,
      before     jsonb,
      after      jsonb,
      details    jsonb,
      prev_hash  text NOT NULL,
      hash       text NOT NULL
    );
    CREATE INDEX audit_log_subject ON audit_log (subject, seq);

    CREATE TABLE audit_head (
      id    integer PRIMARY KEY CHECK (id = 1),
      seq   bigint NOT NULL,
      hash  text NOT NULL
    );
    INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));

    -- The audit log is append-only: the database itself refuses to change or remove an entry.
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
  `.execute(db);
}
