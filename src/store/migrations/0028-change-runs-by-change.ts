import { sql, type Kysely } from 'kysely';

/**
 * Change ids are stable across plans, so two plans being applied can carry
 * the same change; a worker claiming one looks at every run of that change
 * (src/jobs/change-job.ts, claimRun), which wants them found by change id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX change_runs_change_id_idx ON change_runs (change_id)`.execute(db);
}
