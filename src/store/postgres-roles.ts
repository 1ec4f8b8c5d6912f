/**
 * Least privilege on a PostgreSQL server. The database's owner role runs the
 * migrations (`jml migrate --app-role <role>`); jml itself runs as the app
 * role, which may read and write jml's working tables but only INSERT and
 * SELECT on the audit trail. Not owning `audit_log`, it cannot ALTER the
 * table, disable its append-only trigger or drop it. The job queue (pg-boss)
 * is operational state, not evidence: its schema belongs to the app role,
 * which installs and partitions it at start.
 */
import { sql, type Kysely } from 'kysely';
import { JmlError } from '../domain/errors.ts';

/** Tables the app role may only read: the trail's history and the migration bookkeeping. */
const APPEND_ONLY = ['audit_log'] as const;
const READ_ONLY = ['jml_migrations', 'jml_migrations_lock'] as const;
const JOB_SCHEMA = 'pgboss';

/**
 * The statements that give `role` exactly the rights jml needs. Idempotent:
 * run after every migration (new tables get their grants then).
 * @example appRoleGrants('jml_app')[0] // 'REVOKE CREATE ON SCHEMA public FROM PUBLIC'
 */
export function appRoleGrants(role: string): readonly string[] {
  const r = quoteRole(role);
  return [
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM ${r}`,
    ...APPEND_ONLY.map((t) => `REVOKE UPDATE, DELETE ON ${t} FROM ${r}`),
    ...READ_ONLY.map((t) => `REVOKE INSERT, UPDATE, DELETE ON ${t} FROM ${r}`),
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
    `CREATE SCHEMA IF NOT EXISTS ${JOB_SCHEMA} AUTHORIZATION ${r}`,
    `ALTER SCHEMA ${JOB_SCHEMA} OWNER TO ${r}`,
  ];
}

/**
 * Applies `appRoleGrants` as the connected (owner) role, and hands any job
 * queue objects an earlier single-role set-up created over to the app role.
 */
export async function grantAppRole(db: Kysely<any>, role: string): Promise<void> {
  const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${role}`.execute(db);
  if (exists.rows[0]?.n !== 1) throw new JmlError('not_found', `the PostgreSQL role ${role} does not exist; create it first (CREATE ROLE ${role} LOGIN PASSWORD '…') and let the owner role act for it (GRANT ${role} TO <owner>)`);
  await db.transaction().execute(async (trx) => {
    for (const statement of appRoleGrants(role)) await sql.raw(statement).execute(trx);
    const owned = await sql<{ stmt: string }>`
      SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, ${role}::text) AS stmt
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ${JOB_SCHEMA} AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> ${role}
      UNION ALL
      SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, ${role}::text)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = ${JOB_SCHEMA} AND pg_get_userbyid(p.proowner) <> ${role}
      UNION ALL
      SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, ${role}::text)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE n.nspname = ${JOB_SCHEMA} AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> ${role}`.execute(trx);
    for (const { stmt } of owned.rows) await sql.raw(stmt).execute(trx);
  });
}

function quoteRole(role: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new JmlError('invalid_input', `--app-role: "${role}" is not a plain PostgreSQL role name (lower-case letters, digits, _)`);
  return role;
}
