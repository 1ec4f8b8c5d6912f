/**
 * Evidence packs in the console: security and admin roles build a signed
 * pack for a framework and period and download it as a zip (base64 in JSON,
 * so the console's one JSON client carries it).
 */
import { z } from 'zod';
import { FRAMEWORKS } from '../../app/evidence/control-map.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { defineRoute, type RouteDefinition } from '../route-definition.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

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
  ];
}
