/**
 * What the command line and the console share: a period of calendar days in
 * the organisation's time zone, and a pack built, zipped and handed back as
 * bytes (the console's download), and the pack's weekly measures for the
 * dashboard's charts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { startOfDay } from '../../engine/org-calendar.ts';
import type { Database } from '../../store/database.ts';
import { loadSigningKey } from '../audit/checkpoint-key.ts';
import type { JmlConfig } from '../config.ts';
import { DEFAULT_LEAVER_SLA, type LeaverSlaTargets } from '../leaver-sla.ts';
import type { Framework } from './control-map.ts';
import { lastWeeks, weeklyMeasures } from './evidence-measures.ts';
import { buildEvidencePack } from './evidence-pack.ts';
import { findingRows, leaverRows, type Period, type Row } from './evidence-queries.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The configured checkpoint file, when one has been written yet (before the first checkpoint a pack quotes none). */
export function configuredCheckpoints(config: Pick<JmlConfig, 'audit'>): string | undefined {
  const file = config.audit.checkpoint_file;
  return file && existsSync(file) ? file : undefined;
}

/** From the start of `from` to the end of `to` (both calendar days, included) in `timeZone`. */
export function periodOf(from: string, to: string, timeZone: string): Period {
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new JmlError('invalid_input', `${name}: "${value}" is not a date as YYYY-MM-DD`);
  }
  const next = new Date(`${to}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  const period = { from: new Date(startOfDay(from, timeZone)), to: new Date(startOfDay(next.toISOString().slice(0, 10), timeZone)) };
  if (!(period.from < period.to)) throw new JmlError('invalid_input', `from (${from}) must not be after to (${to})`);
  return period;
}

/** Builds a signed pack in a temporary directory and returns its zip. */
export async function buildEvidenceZip(db: Kysely<Database>, config: Pick<JmlConfig, 'audit' | 'timezone'>, request: { readonly framework: Framework; readonly from: string; readonly to: string; readonly actor: string; readonly trigger?: string }, now: Date) {
  if (!config.audit.key_file) throw new JmlError('unavailable', 'evidence packs are signed with the audit key, and none is configured (JML_AUDIT_KEY_FILE or audit.key_file)');
  const key = loadSigningKey(config.audit.key_file);
  const period = periodOf(request.from, request.to, config.timezone);
  const dir = mkdtempSync(path.join(tmpdir(), 'jml-evidence-'));
  try {
    const name = `evidence-${request.framework}-${request.from}-${request.to}`;
    const result = await buildEvidencePack(db, key, { framework: request.framework, period, out: path.join(dir, name), zip: true, actor: request.actor, trigger: request.trigger ?? 'api', checkpoints: configuredCheckpoints(config) }, now);
    return { fileName: `${name}.zip`, zip: new Uint8Array(readFileSync(result.zip!)), counts: result.counts, auditEntries: result.manifest.audit.entries };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The weekly measures of an evidence pack for the last `weeks` weeks up to `now`: the dashboard's charts. */
export async function recentMeasures(db: Kysely<Database>, now: Date, weeks: number, targets: LeaverSlaTargets = DEFAULT_LEAVER_SLA): Promise<{ readonly period: Period; readonly weeks: Row[] }> {
  const period = lastWeeks(now, weeks);
  const { leavers } = await leaverRows(db, period, targets);
  return { period, weeks: weeklyMeasures(period, leavers, await findingRows(db, period)) };
}
