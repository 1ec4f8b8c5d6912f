/**
 * Software licences with seats: the licences with their seats in use and
 * free, one licence with its seat history, and — for IT (admin) — adding or
 * changing a licence, assigning a seat to an account and reclaiming one.
 * Security reads. A product key is never sent back, only whether one is set.
 */
import { z } from 'zod';
import { assignSeat, licenceUse, reclaimSeat, saveLicence, seatHistory, type Licence, type LicenceSeat } from '../../app/assets/licence-seats.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { boundedString, calendarDay } from '../request-limits.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';

const seatView = z.object({
  id: z.string(), licence: z.string(), identityKey: z.string(), system: z.string(), accountId: z.string(), assignedAt: z.string(), assignedBy: z.string(),
  reclaimedAt: z.string().nullable(), reclaimedBy: z.string().nullable(), reclaimReason: z.string().nullable(),
});
const licenceView = z.object({
  name: z.string(), product: z.string(), manufacturer: z.string().nullable(), seats: z.number(), system: z.string().nullable(), entitlement: z.string().nullable(),
  productKeySet: z.boolean(), expiresOn: z.string().nullable(), notes: z.string(),
});
const useView = licenceView.extend({ inUse: z.number(), free: z.number(), held: z.array(seatView) });
const nameParams = z.object({ name: boundedString('key') });

const licenceOut = ({ productKey, ...rest }: Licence) => ({ ...rest, productKeySet: productKey !== null && productKey !== '' });
const seatOut = (s: LicenceSeat) => ({ ...s });

/** The routes. */
export function licenceRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/api/licences',
      summary: 'Software licences with their seats: in use, free, and who holds them through which account.',
      tag: 'equipment',
      access: ['admin', 'security'],
      response: z.object({ items: z.array(useView) }),
      async handler() {
        return { items: (await licenceUse(db)).map((l) => ({ ...licenceOut(l), inUse: l.inUse, free: l.free, held: l.held.map(seatOut) })) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/licences',
      summary: 'Adds a licence, or changes one (fewer seats than are in use is refused).',
      tag: 'equipment',
      access: ['admin'],
      body: z.object({
        name: boundedString('key').min(1), seats: z.number().int().min(0).max(1_000_000), product: boundedString('name').optional(), manufacturer: boundedString('name').nullable().optional(),
        system: boundedString('key').nullable().optional(), entitlement: boundedString('name').nullable().optional(), productKey: boundedString('name').nullable().optional(),
        expiresOn: calendarDay().nullable().optional(), notes: boundedString('text').optional(),
      }).strict(),
      response: licenceView,
      async handler({ body, actor }) {
        return licenceOut(await saveLicence(db, body, actor, deps.now()));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/licences/:name',
      summary: 'One licence with its seats in use and every seat it has had (reclaimed ones with when, by whom and why).',
      tag: 'equipment',
      access: ['admin', 'security'],
      params: nameParams,
      response: z.object({ licence: useView, history: z.array(seatView) }),
      async handler({ params }) {
        const [use] = await licenceUse(db, params.name);
        if (!use) throw new JmlError('not_found', `no licence ${params.name}`);
        return { licence: { ...licenceOut(use), inUse: use.inUse, free: use.free, held: use.held.map(seatOut) }, history: (await seatHistory(db, params.name)).map(seatOut) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/licences/:name/seats',
      summary: 'Assigns a seat to an identity\'s account in a system; refused when every seat is in use.',
      tag: 'equipment',
      access: ['admin'],
      params: nameParams,
      body: z.object({ identityKey: boundedString('key'), system: boundedString('key'), accountId: boundedString('name') }).strict(),
      response: seatView,
      async handler({ params, body, actor }) {
        return seatOut(await assignSeat(db, { licence: params.name, ...body, by: actor }, deps.now()));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/licences/:name/seats/:id/reclaim',
      summary: 'Reclaims one seat by hand (seats of removed accounts come back by themselves).',
      tag: 'equipment',
      access: ['admin'],
      params: z.object({ name: boundedString('key'), id: boundedString('key') }),
      body: z.object({ reason: boundedString('text').min(1) }).strict(),
      response: z.object({ reclaimed: z.literal(true) }),
      async handler({ params, body, actor }) {
        await reclaimSeat(db, { licence: params.name, seatId: params.id, by: actor, reason: body.reason }, deps.now());
        return { reclaimed: true as const };
      },
    }),
  ];
}
