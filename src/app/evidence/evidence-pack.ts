/**
 * `jml evidence build`: a folder of system-generated proof for one framework
 * and period — the report (HTML, PDF), every table as CSV and JSON, the seq
 * and hash of every audit entry of the period, and a manifest holding the
 * SHA-256 of each file, the audit range and the latest checkpoint, signed
 * with the Ed25519 audit key. Optionally zipped.
 */
import { createHash, sign } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { appendAudit } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { readCheckpoints, type Checkpoint } from '../audit/audit-checkpoint.ts';
import type { SigningKey } from '../audit/checkpoint-key.ts';
import { DEFAULT_LEAVER_SLA, type LeaverSlaTargets } from '../leaver-sla.ts';
import { loadControlMap, type Framework } from './control-map.ts';
import { toCsv } from '../../domain/csv-text.ts';
import { weeklyMeasures } from './evidence-measures.ts';
import { printPdf } from './evidence-pdf.ts';
import { assetReturnRows, exceptionRows, findingRows, joinerRows, leaverRows, monthlyCheckActionRows, monthlyCheckCompletionRows, moverRows, userListTables, type EvidenceTable, type Period } from './evidence-queries.ts';
import { renderReport } from './evidence-report.ts';

export const MANIFEST = 'manifest.json';
export const SIGNATURE = 'manifest.sig';
export const AUDIT_ENTRIES = 'audit/entries.jsonl';

export interface EvidenceManifest {
  readonly type: 'jml.evidence.manifest';
  readonly version: 1;
  readonly framework: Framework;
  readonly period: { readonly from: string; readonly to: string };
  readonly built_at: string;
  readonly built_by: string;
  readonly key_id: string;
  readonly audit: { readonly first_seq: number | null; readonly last_seq: number | null; readonly last_hash: string | null; readonly entries: number };
  readonly checkpoint: Checkpoint | null;
  readonly files: readonly { readonly path: string; readonly sha256: string; readonly bytes: number }[];
}

export interface BuildOptions {
  readonly framework: Framework;
  readonly period: Period;
  readonly out: string;
  readonly zip?: boolean;
  readonly pdf?: boolean;
  readonly actor: string;
  readonly checkpoints?: string | undefined;
  readonly leaverSla?: LeaverSlaTargets;
  /** Recorded with the `evidence.built` audit entry: `cli` (default) or `api:<request id>`. */
  readonly trigger?: string;
}

export interface BuildResult {
  readonly dir: string;
  readonly zip: string | null;
  readonly manifest: EvidenceManifest;
  readonly counts: Readonly<Record<string, number>>;
}

function zipPathOf(out: string): string {
  return `${out.replace(/[\\/]+$/, '')}.zip`;
}

/** Builds the pack into `options.out` (which must be absent or empty); a build that fails leaves the directory empty again. */
export async function buildEvidencePack(db: Kysely<Database>, key: SigningKey, options: BuildOptions, now: Date): Promise<BuildResult> {
  const { period, out } = options;
  if (!(period.from < period.to)) throw new JmlError('invalid_input', `--from (${period.from.toISOString()}) must be before --to (${period.to.toISOString()})`);
  // Like the directory, the zip beside it never replaces an existing file (last quarter's pack, a backup).
  if (options.zip && existsSync(zipPathOf(out))) throw new JmlError('conflict', `${zipPathOf(out)} already exists; an evidence pack never replaces a file: choose another --out`);
  mkdirSync(out, { recursive: true });
  if (readdirSync(out).length > 0) throw new JmlError('conflict', `${out} is not empty; an evidence pack is written to a new or empty directory`);
  try {
    return await writePack(db, key, options, now);
  } catch (error) {
    for (const name of readdirSync(out)) rmSync(path.join(out, name), { recursive: true, force: true });
    throw error;
  }
}

async function writePack(db: Kysely<Database>, key: SigningKey, options: BuildOptions, now: Date): Promise<BuildResult> {
  const { period, out } = options;
  const map = loadControlMap();
  const framework = map.frameworks[options.framework];
  const { leavers, steps } = await leaverRows(db, period, options.leaverSla ?? DEFAULT_LEAVER_SLA);
  const findings = await findingRows(db, period);
  const measures = weeklyMeasures(period, leavers, findings);
  const tables: EvidenceTable[] = [
    { item: 'joiners', name: 'joiners', title: 'Joiners', columns: ['identity_key', 'kind', 'effective_at', 'detected_at', 'approval', 'approval_request', 'approved_by', 'approved_at'], rows: await joinerRows(db, period) },
    { item: 'leavers', name: 'leavers', title: 'Leavers', columns: ['identity_key', 'event', 'effective_at', 'state', 'steps', 'confirmed_at', 'hours_to_confirmed', 'sla_hours', 'sla_met'], rows: leavers },
    { item: 'leaver_steps', name: 'leaver-steps', title: 'Leaver steps', columns: ['identity_key', 'event', 'kind', 'system', 'state', 'due_at', 'confirmed_at', 'confirmation', 'task_evidence'], rows: steps },
    { item: 'movers', name: 'movers', title: 'Movers and the access they lost', columns: ['identity_key', 'effective_at', 'changed', 'access_removed'], rows: await moverRows(db, period) },
    { item: 'access_reviews', name: 'access-reviews', title: 'Access reviews', columns: ['campaign', 'decision'], rows: [], note: 'no access reviews recorded: jml does not run review campaigns yet' },
    { item: 'exceptions', name: 'exceptions', title: 'Exceptions', columns: ['identity_key', 'system', 'entitlement', 'justification', 'owner', 'granted_by', 'granted_at', 'valid_to', 'state', 'ended_at'], rows: await exceptionRows(db, period) },
    { item: 'findings', name: 'findings', title: 'Findings and their resolution', columns: ['kind', 'system', 'identity_key', 'account', 'detail', 'first_seen', 'last_seen', 'state', 'resolved_at', 'resolution'], rows: findings },
    { item: 'dormant_accounts', name: 'dormant-accounts', title: 'Dormant accounts', columns: ['system', 'identity_key', 'account', 'detail', 'first_seen', 'state', 'resolved_at', 'resolution'], rows: findings.filter((f) => f.kind === 'dormant') },
    { item: 'asset_returns', name: 'asset-returns', title: 'Asset returns and custody changes', columns: ['asset', 'action', 'from_holder', 'status', 'at', 'by', 'trigger', 'audit_seq'], rows: await assetReturnRows(db, period) },
    { item: 'monthly_checks', name: 'monthly-check-completion', title: 'Monthly end-user check: completion per department and per manager', columns: ['check', 'period', 'due_at', 'group_by', 'group', 'respondents', 'respondents_done', 'items', 'answered', 'completion_pct'], rows: await monthlyCheckCompletionRows(db, period) },
    { item: 'monthly_checks', name: 'monthly-check-actions', title: 'Monthly end-user check: answers that led to an action', columns: ['check', 'respondent', 'subject', 'item_type', 'item', 'answer', 'answered_at', 'action'], rows: await monthlyCheckActionRows(db, period) },
    ...(await userListTables(db, period)),
    { item: 'measures', name: 'measures', title: 'Weekly measures', columns: ['week_start', 'leavers', 'sla_met_pct', 'median_hours_to_confirmed', 'open_findings', 'open_orphans'], rows: measures },
  ];
  const files: string[] = [];
  const write = (rel: string, content: string | Uint8Array) => {
    const file = path.join(out, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    files.push(rel);
  };
  for (const t of tables) {
    write(`data/${t.name}.csv`, toCsv(t.columns, t.rows));
    write(`data/${t.name}.json`, `${JSON.stringify({ title: t.title, ...(t.note ? { note: t.note } : {}), columns: t.columns, rows: t.rows }, null, 1)}\n`);
  }
  write('controls.json', `${JSON.stringify({ framework: options.framework, title: framework.title, controls: framework.controls.map((c) => ({ ...c, rows: Object.fromEntries(c.evidence.map((e) => [e, tables.filter((t) => t.item === e).reduce((n, t) => n + t.rows.length, 0)])) })) }, null, 1)}\n`);
  const audit = await auditRange(db, period);
  write(AUDIT_ENTRIES, audit.lines);
  const checkpoint = latestCheckpoint(options.checkpoints);
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  const html = renderReport({
    title: `Evidence pack: ${framework.title}`,
    frameworkTitle: framework.title,
    period: { from, to },
    builtAt: now.toISOString(),
    controls: framework.controls,
    itemTitles: map.evidence,
    tables,
    measures,
    audit: { firstSeq: audit.first, lastSeq: audit.last, checkpoint: checkpoint ? `latest checkpoint: entry ${checkpoint.seq} at ${checkpoint.at}` : 'no checkpoint given' },
  });
  write('report.html', html);
  if (options.pdf !== false) {
    await printPdf(html, path.join(out, 'report.pdf'));
    files.push('report.pdf');
  }
  const manifest: EvidenceManifest = {
    type: 'jml.evidence.manifest',
    version: 1,
    framework: options.framework,
    period: { from, to },
    built_at: now.toISOString(),
    built_by: options.actor,
    key_id: key.keyId,
    audit: { first_seq: audit.first, last_seq: audit.last, last_hash: audit.lastHash, entries: audit.count },
    checkpoint,
    files: files.sort().map((rel) => {
      const bytes = readFileSync(path.join(out, rel));
      return { path: rel, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    }),
  };
  const manifestText = `${JSON.stringify(manifest, null, 1)}\n`;
  writeFileSync(path.join(out, MANIFEST), manifestText);
  writeFileSync(path.join(out, SIGNATURE), `${sign(null, Buffer.from(manifestText), key.privateKey).toString('base64')}\n`);
  // After the range was read: the pack covers the trail up to here, and the trail records that the pack was made.
  await appendAudit(db, { actor: options.actor, action: 'evidence.built', subject: `evidence:${options.framework}`, trigger: options.trigger ?? 'cli', details: { period: { from, to }, manifest_sha256: createHash('sha256').update(manifestText).digest('hex'), key_id: key.keyId, audit: manifest.audit } }, now);
  let zip: string | null = null;
  if (options.zip) {
    zip = zipPathOf(out);
    const entries: Record<string, Uint8Array> = {};
    for (const rel of [...manifest.files.map((f) => f.path), MANIFEST, SIGNATURE]) entries[rel] = readFileSync(path.join(out, rel));
    writeFileSync(zip, zipSync(entries, { level: 6 }), { flag: 'wx' });
  }
  const counts = Object.fromEntries(tables.map((t) => [t.name, t.rows.length]));
  return { dir: out, zip, manifest, counts };
}

/** The seq and hash of every audit entry written in the period, one JSON line each. */
async function auditRange(db: Kysely<Database>, period: Period): Promise<{ lines: string; first: number | null; last: number | null; lastHash: string | null; count: number }> {
  const parts: string[] = [];
  let first: number | null = null;
  let last: number | null = null;
  let lastHash: string | null = null;
  let count = 0;
  let after = 0;
  for (;;) {
    const batch = await db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '>', after).where('at', '>=', period.from.toISOString()).where('at', '<', period.to.toISOString()).orderBy('seq').limit(10_000).execute();
    if (batch.length === 0) break;
    for (const e of batch) parts.push(`{"seq":${e.seq},"hash":"${e.hash}"}\n`);
    first ??= batch[0]!.seq;
    last = batch[batch.length - 1]!.seq;
    lastHash = batch[batch.length - 1]!.hash;
    count += batch.length;
    after = last;
  }
  return { lines: parts.join(''), first, last, lastHash, count };
}

function latestCheckpoint(file: string | undefined): Checkpoint | null {
  if (!file) return null;
  const all = readCheckpoints(file);
  return all.reduce<Checkpoint | null>((best, { checkpoint }) => (best === null || checkpoint.seq >= best.seq ? checkpoint : best), null);
}
