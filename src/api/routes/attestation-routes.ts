/**
 * The monthly end-user check over HTTP: IT opens a month's check, security,
 * HR and IT see who still owes answers (with the manager to escalate to) and
 * completion per department and manager; every signed-in person answers their
 * own items. Sending reminders is the notifications module's job: it reads
 * the same `dueAttestations` list.
 */
import { z } from 'zod';
import { answerAttestation, attestationsOf, checkCompletion, dueAttestations, openMonthlyCheck } from '../../app/assets/monthly-check.ts';
import { internalChangeSettings } from '../../app/internal-changes.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { boundedString, calendarMonth } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';

const ANSWERS = ['confirmed', 'not_mine', 'lost', 'stolen', 'needed', 'no_longer_needed'] as const;
const itemView = z.object({
  id: z.string(), campaignId: z.string(), respondentKey: z.string(), subjectKey: z.string(), itemType: z.enum(['asset', 'access']),
  ref: z.string(), label: z.string(), answer: z.enum(ANSWERS).nullable(), answeredAt: z.string().nullable(), action: z.string().nullable(),
});
const group = z.object({ group: z.string(), items: z.number(), answered: z.number(), respondents: z.number(), respondentsDone: z.number() });

/** The routes. */
export function attestationRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db, services } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/api/attestations',
      summary: 'Opens the monthly end-user check for a month (once; opening it again returns the same check).',
      tag: 'equipment',
      access: ['admin'],
      body: z.object({ period: calendarMonth(), dueDays: z.number().int().min(1).max(31).optional() }).strict(),
      response: z.object({ campaignId: z.string(), items: z.number(), created: z.boolean() }),
      async handler({ body, actor }) {
        return openMonthlyCheck(db, { period: body.period, actor, ...(body.dueDays ? { dueDays: body.dueDays } : {}) }, deps.now());
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/attestations/due',
      summary: 'Who still owes answers, by when, and (once overdue) the manager to escalate to.',
      tag: 'equipment',
      access: ['admin', 'security', 'hr'],
      response: z.object({ items: z.array(z.object({ respondentKey: z.string(), campaignId: z.string(), unanswered: z.number(), dueAt: z.string(), state: z.enum(['due', 'overdue']), escalateTo: z.string().nullable() })) }),
      async handler() {
        return { items: await dueAttestations(db, deps.now()) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/attestations/:id/completion',
      summary: 'Completion of one check per department and per manager.',
      tag: 'equipment',
      access: ['admin', 'security', 'hr'],
      params: z.object({ id: boundedString('key') }),
      response: z.object({ byDepartment: z.array(group), byManager: z.array(group) }),
      async handler({ params }) {
        const campaign = await db.selectFrom('attestation_campaigns').select('id').where('id', '=', params.id).executeTakeFirst();
        if (!campaign) throw new JmlError('not_found', `no check ${params.id}`);
        const completion = await checkCompletion(db, campaign.id);
        return { byDepartment: [...completion.byDepartment], byManager: [...completion.byManager] };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/me/attestations',
      summary: 'Self-service: my items in the monthly check (my equipment by serial, my access, and my NHIs\').',
      tag: 'self-service',
      access: 'signed_in',
      response: z.object({ items: z.array(itemView) }),
      async handler({ principal }) {
        return { items: principal.identityKey ? await attestationsOf(db, principal.identityKey) : [] };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/me/attestations/:id/answer',
      summary: 'Self-service: answers one item; "confirmed" accepts an item not yet accepted, "lost"/"stolen" reports the asset, "not mine" opens a task for IT, "no longer needed" ends the assignment; the last three ask the workers for a replan at once.',
      tag: 'self-service',
      access: 'signed_in',
      params: z.object({ id: boundedString('key') }),
      body: z.object({ answer: z.enum(ANSWERS), note: boundedString('text').optional() }).strict(),
      response: itemView,
      async handler({ params, body, principal }) {
        const by = principal.identityKey;
        if (!by) throw new JmlError('not_found', `no attestation item ${params.id}`);
        const policy = services.policy ? await services.policy() : { systems: [] };
        const custodian = internalChangeSettings(policy).assetCustodian;
        return answerAttestation({ db, custodian, ...(services.replan ? { replan: services.replan } : {}), ...(services.lostDevice ? { lostDevice: services.lostDevice } : {}) }, { itemId: params.id, by, answer: body.answer, ...(body.note ? { note: body.note } : {}) }, deps.now());
      },
    }),
  ];
}
