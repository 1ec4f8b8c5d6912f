/**
 * Evidence packs in the console: security and admin roles build a signed
 * pack for a framework and period and download it as a zip (base64 in JSON,
 * so the console's one JSON client carries it). The same roles read the
 * pack's weekly measures for the dashboard's charts: they count findings and
 * orphan accounts, which only admin and security see elsewhere too.
 */
import { z } from 'zod';
import { FRAMEWORKS } from '../../app/evidence/control-map.ts';
import { recentMeasures } from '../../app/evidence/evidence-service.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';
import { calendarDay } from '../request-limits.ts';

const week = z.object({ weekStart: z.string(), leavers: z.number(), slaMetPct: z.number().nullable(), medianHoursToConfirmed: z.number().nullable(), openFindings: z.number(), openOrphans: z.number() });
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

const day = calendarDay();

export function evidenceRoutes(deps: ApiDeps): RouteDefinition[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/evidence-packs',
      summary: 'Build a signed evidence pack for a framework and period; returns it zipped',
      tag: 'evidence',
      access: ['admin', 'security'],
      body: z.strictObject({ framework: z.enum(FRAMEWORKS), from: day, to: day }),
      response: z.object({ fileName: z.string(), zipBase64: z.string(), bytes: z.number(), counts: z.record(z.string(), z.number()), auditEntries: z.number() }),
      handler: async ({ body, actor, request }) => {
        if (!deps.services.evidence) throw new JmlError('unavailable', 'evidence packs are not available on this server');
        const pack = await deps.services.evidence.build({ ...body, actor, trigger: `api:${request.id}` });
        return { fileName: pack.fileName, zipBase64: Buffer.from(pack.zip).toString('base64'), bytes: pack.zip.length, counts: pack.counts, auditEntries: pack.auditEntries };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/measures',
      summary: 'Weekly measures of the last `weeks` weeks (Monday to Sunday, UTC; the current week up to now), as in an evidence pack: leavers, the percentage whose every step was confirmed within the SLA, the median hours from effective time to access confirmed, and the findings and orphan accounts open at each week’s end',
      tag: 'evidence',
      access: ['admin', 'security'],
      query: z.strictObject({ weeks: z.coerce.number().int().min(1).max(52).default(12) }),
      response: z.object({ from: z.string(), to: z.string(), weeks: z.array(week) }),
      handler: async ({ query }) => {
        const { period, weeks } = await recentMeasures(deps.db, deps.now(), query.weeks);
        return {
          from: period.from.toISOString(),
          to: period.to.toISOString(),
          weeks: weeks.map((w) => ({ weekStart: String(w.week_start), leavers: num(w.leavers) ?? 0, slaMetPct: num(w.sla_met_pct), medianHoursToConfirmed: num(w.median_hours_to_confirmed), openFindings: num(w.open_findings) ?? 0, openOrphans: num(w.open_orphans) ?? 0 })),
        };
      },
    }),
  ];
}
