import { sql, type Kysely } from 'kysely';

/**
 * Inbound SCIM: bearer tokens scoped to one source (only the SHA-256 of the
 * secret is kept), and each pushed User resource as the client last sent it,
 * with the version its ETag is made from. The resource is what GET answers and
 * what PATCH applies to; the source record derived from it through the
 * source's mapping lives in source_records like a file's. A Bulk request is a
 * batch whose progress and per-operation results a client can read back.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE scim_tokens (
      id            text PRIMARY KEY,
      source        text NOT NULL,
      name          text NOT NULL,
      token_hash    text NOT NULL UNIQUE,
      scopes        text[] NOT NULL,
      created_by    text NOT NULL,
      created_at    timestamptz NOT NULL,
      expires_at    timestamptz,
      revoked_at    timestamptz,
      last_used_at  timestamptz
    );
    CREATE INDEX scim_tokens_source ON scim_tokens (source);

    CREATE TABLE scim_resources (
      source       text NOT NULL,
      id           text NOT NULL,
      resource     jsonb NOT NULL,
      version      integer NOT NULL,
      present      boolean NOT NULL DEFAULT true,
      created_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL,
      PRIMARY KEY (source, id)
    );
    CREATE INDEX scim_resources_user_name ON scim_resources (source, lower(resource->>'userName'));
    CREATE INDEX scim_resources_external_id ON scim_resources (source, (resource->>'externalId'));

    CREATE TABLE scim_batches (
      id           text PRIMARY KEY,
      source       text NOT NULL,
      actor        text NOT NULL,
      status       text NOT NULL CHECK (status IN ('accepted', 'running', 'done', 'failed')),
      operations   integer NOT NULL,
      processed    integer NOT NULL DEFAULT 0,
      failed       integer NOT NULL DEFAULT 0,
      import_ids   text[] NOT NULL DEFAULT '{}',
      results      jsonb,
      created_at   timestamptz NOT NULL,
      finished_at  timestamptz
    );
    CREATE INDEX scim_batches_source ON scim_batches (source, created_at);

    -- Every import and push asks which applied events lie after its evaluation instant (an --as-of in the
    -- past, events dated in the future): without this index that is a scan of every event ever recorded,
    -- once per push of 50 records.
    CREATE INDEX lifecycle_events_applied_at ON lifecycle_events (effective_at) WHERE state = 'applied';
  `.execute(db);
}
