import { sql, type Kysely } from 'kysely';

/**
 * What the console keeps between requests, in the database so a restart or a
 * second API instance behind a load balancer sees it: plans previewed and
 * awaiting approval (until applied they are not in `plans`), and the file of
 * an import held by the mass-change guard (so any instance can release it).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE plan_previews (
      id           text PRIMARY KEY,
      scope        jsonb NOT NULL,
      plan         jsonb NOT NULL,
      changes      integer NOT NULL,
      status       text NOT NULL CHECK (status IN ('awaiting_approval','approved','applying','applied','partial')),
      created_by   text NOT NULL,
      approved_by  text,
      created_at   timestamptz NOT NULL,
      updated_at   timestamptz NOT NULL
    );
    CREATE INDEX plan_previews_recent ON plan_previews (created_at DESC, id DESC);
    CREATE INDEX plan_previews_status ON plan_previews (status, created_at DESC);

    CREATE TABLE held_import_files (
      import_id    text PRIMARY KEY,
      source       text NOT NULL,
      file_name    text NOT NULL,
      content      text NOT NULL,
      held_by      text NOT NULL,
      held_at      timestamptz NOT NULL,
      released_by  text,
      released_at  timestamptz
    );
  `.execute(db);
}
