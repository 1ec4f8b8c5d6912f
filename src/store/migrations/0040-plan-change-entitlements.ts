import { sql, type Kysely } from 'kysely';

/**
 * Each change row names its entitlement, as the plan document does. What jml
 * granted before (the planner's fold of confirmed grant changes) read it from
 * the plan document, `plans.plan->'changes'->position`, which made the server
 * fetch and decompress the whole document once per row: a 10,000-change
 * plan's confirmed rows cost ~6 ms each, and a leaver wave after a first
 * provisioning spent most of its time there. Rows recorded before are filled
 * from their plan's document, one pass per plan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE plan_changes ADD COLUMN entitlement text`.execute(db);
  await sql`
    UPDATE plan_changes pc
       SET entitlement = c.change->>'entitlement'
      FROM plans p
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.plan->'changes') = 'array' THEN p.plan->'changes' ELSE '[]'::jsonb END)
           WITH ORDINALITY AS c(change, ordinality)
     WHERE pc.plan_id = p.id
       AND pc.position = c.ordinality - 1
       AND c.change->>'entitlement' IS NOT NULL
  `.execute(db);
}
