/**
 * Equipment: the register with filters, one asset with its holder history,
 * custody (check-out and check-in by IT, acceptance by the holder), the
 * physical audits due, Snipe-IT CSV import and export, and "my equipment" for
 * every signed-in person. IT staff are administrators here; security reads.
 * A person sees only the assets they hold; anyone else's is "not found".
 */
import { z } from 'zod';
import { ASSET_STATUSES, listAssets, type Asset } from '../../app/asset-register.ts';
import { DEFAULT_LOST_DEVICE, lostDeviceStatus, reportLostDevice } from '../../app/assets/lost-device-report.ts';
import { acceptAsset, assetAuditsDue, assetHistory, auditCadences, checkInAsset, checkOutAsset, recordAssetAudit, setAuditCadence } from '../../app/assets/asset-custody.ts';
import { exportSnipeItAssets, importSnipeItAssets } from '../../app/assets/asset-snipeit-csv.ts';
import { JmlError } from '../../domain/errors.ts';
import { hasAnyRole } from '../auth/principal.ts';
import type { ApiDeps } from '../api-deps.ts';
import { boundedString, UPLOAD_BODY_LIMIT } from '../request-limits.ts';
import { defineRoute, type RouteContext, type RouteDefinition } from '../route-definition.ts';

const assetView = z.object({
  tag: z.string(),
  serial: z.string().nullable(),
  kind: z.string(),
  description: z.string(),
  holder: z.string().nullable(),
  location: z.string().nullable(),
  status: z.enum(ASSET_STATUSES),
  model: z.string().nullable(),
  manufacturer: z.string().nullable(),
  purchaseDate: z.string().nullable(),
  warrantyMonths: z.number().nullable(),
  notes: z.string(),
  acceptedAt: z.string().nullable(),
  lastAuditedAt: z.string().nullable(),
  nextAuditAt: z.string().nullable(),
});
const historyView = z.object({ at: z.string(), action: z.string(), actor: z.string(), holder: z.string().nullable(), status: z.string().nullable(), location: z.string().nullable() });
const tagParams = z.object({ tag: boundedString('key') });
const view = (a: Asset) => ({ ...a });

/** The asset, if the caller may see it: IT and security see all, a person what they hold. */
async function visibleAsset(ctx: Pick<RouteContext<unknown, unknown, unknown>, 'principal' | 'deny' | 'deps'>, tag: string): Promise<Asset> {
  const [asset] = (await listAssets(ctx.deps.db, { tag })) as (Asset | undefined)[];
  const staff = hasAnyRole(ctx.principal, ['admin', 'security']);
  if (!asset || (!staff && (asset.holder === null || asset.holder !== ctx.principal.identityKey))) return ctx.deny('not_found', `asset:${tag}`, 'not an asset the caller holds');
  return asset;
}

/** The routes. */
export function assetRoutes(deps: ApiDeps): RouteDefinition[] {
  const { db } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/api/assets',
      summary: 'The asset register, filtered by status, category (kind), holder, location or a text in tag, serial, model or description.',
      tag: 'equipment',
      access: ['admin', 'security'],
      query: z.object({ status: z.enum(ASSET_STATUSES).optional(), kind: boundedString('key').optional(), holder: boundedString('name').optional(), location: boundedString('name').optional(), q: boundedString('name').optional() }),
      response: z.object({ items: z.array(assetView) }),
      async handler({ query }) {
        return { items: (await listAssets(db, query)).map(view) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/assets/audits-due',
      summary: 'Assets whose physical audit is overdue, or due within 30 days, by the cadence of their category.',
      tag: 'equipment',
      access: ['admin', 'security'],
      response: z.object({ items: z.array(z.object({ tag: z.string(), kind: z.string(), holder: z.string().nullable(), location: z.string().nullable(), nextAuditAt: z.string().nullable(), state: z.enum(['due', 'overdue']) })) }),
      async handler() {
        return { items: await assetAuditsDue(db, deps.now()) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/asset-categories',
      summary: 'The categories with a physical audit cadence, in days.',
      tag: 'equipment',
      access: ['admin', 'security'],
      response: z.object({ items: z.array(z.object({ category: z.string(), everyDays: z.number() })) }),
      async handler() {
        return { items: await auditCadences(db) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/asset-categories/:category/cadence',
      summary: 'Sets how often assets of a category are physically audited; recording an audit sets the next one that many days later.',
      tag: 'equipment',
      access: ['admin'],
      params: z.object({ category: boundedString('key') }),
      body: z.object({ everyDays: z.number().int().min(1).max(3650) }).strict(),
      response: z.object({ category: z.string(), everyDays: z.number() }),
      async handler({ params, body, actor }) {
        await setAuditCadence(db, params.category, body.everyDays, actor, deps.now());
        return { category: params.category, everyDays: body.everyDays };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/assets/export',
      summary: 'The whole register as CSV in Snipe-IT\'s import columns.',
      tag: 'equipment',
      access: ['admin', 'security'],
      response: z.object({ fileName: z.string(), content: z.string() }),
      async handler() {
        return { fileName: `assets-${deps.now().toISOString().slice(0, 10)}.csv`, content: await exportSnipeItAssets(db) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/import',
      summary: 'Imports a CSV in Snipe-IT\'s columns: all rows or none, every problem named by line and column.',
      tag: 'equipment',
      access: ['admin'],
      body: z.object({ fileName: boundedString('name').min(1), content: z.string().max(UPLOAD_BODY_LIMIT - 64 * 1024) }).strict(),
      bodyLimit: UPLOAD_BODY_LIMIT,
      response: z.object({ created: z.number(), updated: z.number(), unchanged: z.number() }),
      async handler({ body, actor }) {
        return importSnipeItAssets(db, body.content, { file: body.fileName, actor, now: deps.now() });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/assets/:tag',
      summary: 'One asset and its history: every holder, status and location change, from the audit trail.',
      tag: 'equipment',
      access: 'signed_in',
      params: tagParams,
      response: z.object({ asset: assetView, history: z.array(historyView) }),
      async handler(ctx) {
        const asset = await visibleAsset(ctx, ctx.params.tag);
        return { asset: view(asset), history: await assetHistory(db, asset.tag) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/:tag/check-out',
      summary: 'Hands an asset in stock to a person; it waits for their acceptance.',
      tag: 'equipment',
      access: ['admin'],
      params: tagParams,
      body: z.object({ to: boundedString('name'), location: boundedString('name').optional() }),
      response: assetView,
      async handler({ params, body, actor }) {
        return view(await checkOutAsset(db, { tag: params.tag, to: body.to, actor, ...(body.location ? { location: body.location } : {}) }, deps.now()));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/:tag/check-in',
      summary: 'Takes an asset back into stock, to repair, or retires it.',
      tag: 'equipment',
      access: ['admin'],
      params: tagParams,
      body: z.object({ to: z.enum(['in_stock', 'in_repair', 'retired']).optional(), location: boundedString('name').optional(), note: boundedString('text').optional() }),
      response: assetView,
      async handler({ params, body, actor }) {
        return view(await checkInAsset(db, { tag: params.tag, actor, ...body }, deps.now()));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/:tag/audit',
      summary: 'Records a physical audit: the asset was seen (where, optionally); the next audit falls one cadence of its category later.',
      tag: 'equipment',
      access: ['admin'],
      params: tagParams,
      body: z.object({ location: boundedString('name').optional() }).strict(),
      response: assetView,
      async handler({ params, body, actor }) {
        return view(await recordAssetAudit(db, { tag: params.tag, actor, ...(body.location ? { location: body.location } : {}) }, deps.now()));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/:tag/accept',
      summary: 'Self-service: the holder confirms they received the asset.',
      tag: 'self-service',
      access: 'signed_in',
      params: tagParams,
      response: assetView,
      async handler(ctx) {
        const asset = await visibleAsset(ctx, ctx.params.tag);
        const holder = ctx.principal.identityKey;
        if (holder === null || asset.holder !== holder) return ctx.deny('forbidden', `asset:${asset.tag}`, 'only the holder accepts an asset');
        return view(await acceptAsset(db, { tag: asset.tag, by: holder }, deps.now()));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/assets/:tag/report',
      summary: 'Reports an asset lost or stolen, in one step: by its holder (self-service) or by IT or security.',
      tag: 'self-service',
      access: 'signed_in',
      params: tagParams,
      body: z.object({ status: z.enum(['lost', 'stolen']), note: boundedString('text').optional() }),
      response: assetView,
      async handler(ctx) {
        const asset = await visibleAsset(ctx, ctx.params.tag);
        const by = ctx.principal.identityKey;
        if (!by) throw new JmlError('forbidden', 'a report is made by a person: link this console user to an identity, or use `jml assets report`');
        const { asset: reported } = await reportLostDevice({ db, ...(deps.services.replan ? { replan: deps.services.replan } : {}), ...(deps.services.lostDevice ? { settings: deps.services.lostDevice } : {}) }, { tag: asset.tag, status: ctx.body.status, by, ...(ctx.body.note ? { note: ctx.body.note } : {}) }, deps.now());
        return view(reported);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/assets/:tag/lost-report',
      summary: 'The clock of a lost or stolen report: its severity, when every revocation is due (the configured SLA), and where each revocation stands.',
      tag: 'equipment',
      access: 'signed_in',
      params: tagParams,
      response: z.object({
        tag: z.string(), holder: z.string().nullable(), report: z.enum(['lost', 'stolen']), severity: z.enum(['low', 'medium', 'high', 'critical']), reportedAt: z.string(), dueAt: z.string(), slaHours: z.number(),
        state: z.enum(['complete', 'in_progress', 'overdue']), steps: z.array(z.object({ kind: z.string(), system: z.string().nullable(), state: z.string(), taskId: z.string().nullable() })),
      }),
      async handler(ctx) {
        const asset = await visibleAsset(ctx, ctx.params.tag);
        const status = await lostDeviceStatus(db, asset.tag, deps.now(), deps.services.lostDevice ?? DEFAULT_LOST_DEVICE);
        if (!status) throw new JmlError('not_found', `${asset.tag} has not been reported lost or stolen`);
        return { ...status, steps: status.steps.map((s) => ({ ...s })) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/me/assets',
      summary: 'Self-service: the equipment I hold, with whether I have accepted each item.',
      tag: 'self-service',
      access: 'signed_in',
      response: z.object({ items: z.array(assetView) }),
      async handler({ principal }) {
        return { items: principal.identityKey ? (await listAssets(db, { holder: principal.identityKey })).map(view) : [] };
      },
    }),
  ];
}
