import { sql, type Kysely } from 'kysely';

/**
 * Campaigns the worker starts on a review's recurrence carry the period (its
 * recurrence date): one campaign per review and period, however many workers
 * tick at once or restart. Campaigns started by hand have none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE review_campaigns ADD COLUMN period text;
    CREATE UNIQUE INDEX review_campaigns_period ON review_campaigns (review, period) WHERE period IS NOT NULL;
    ALTER TABLE review_items ADD COLUMN task_id text;
  `.execute(db);
}
