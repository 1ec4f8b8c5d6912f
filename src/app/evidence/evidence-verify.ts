/**
 * `jml evidence verify DIR`: the manifest is signed by the audit key, every
 * file listed has the SHA-256 the manifest gives (and no file was added),
 * and every audit entry the pack covers still exists in the trail with the
 * same content and hash. Each problem names the file or the entry.
 */
import { createHash, verify } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { JmlError } from '../../domain/errors.ts';
import { entryHash } from '../../store/audit-log.ts';
import type { Database } from '../../store/database.ts';
import { checkpointSignatureValid } from '../audit/audit-checkpoint.ts';
import type { VerifyKey } from '../audit/checkpoint-key.ts';
import { AUDIT_ENTRIES, MANIFEST, SIGNATURE, type EvidenceManifest } from './evidence-pack.ts';

export interface EvidenceVerdict {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly files: number;
  readonly auditEntries: number;
}

/** Problems are collected, not thrown: an auditor wants every one of them. */
export async function verifyEvidencePack(db: Kysely<Database>, dir: string, key: VerifyKey): Promise<EvidenceVerdict> {
  const manifestFile = path.join(dir, MANIFEST);
  if (!existsSync(manifestFile)) throw new JmlError('invalid_input', `${dir} is not an evidence pack: ${MANIFEST} is missing`);
  const manifestBytes = readFileSync(manifestFile);
  const problems: string[] = [];
  const signature = existsSync(path.join(dir, SIGNATURE)) ? readFileSync(path.join(dir, SIGNATURE), 'utf8').trim() : '';
  let signed = false;
  try {
    signed = verify(null, manifestBytes, key.publicKey, Buffer.from(signature, 'base64'));
  } catch {
    signed = false;
  }
  if (!signed) problems.push(`${MANIFEST}: the signature in ${SIGNATURE} does not match (the manifest was changed, or signed with a key other than ${key.keyId})`);
  let manifest: EvidenceManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as EvidenceManifest;
  } catch {
    return { ok: false, problems: [...problems, `${MANIFEST}: not JSON`], files: 0, auditEntries: 0 };
  }
  if (manifest.checkpoint && !checkpointSignatureValid(manifest.checkpoint, key)) problems.push(`${MANIFEST}: the checkpoint it quotes is not signed by the audit key ${key.keyId}`);
  const listed = new Set<string>();
  for (const f of manifest.files ?? []) {
    listed.add(f.path);
    const file = path.join(dir, f.path);
    if (!existsSync(file)) {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (actual !== f.sha256) problems.push(`${f.path}: changed (SHA-256 ${actual}, manifest says ${f.sha256})`);
  }
  for (const rel of walk(dir)) {
    if (rel !== MANIFEST && rel !== SIGNATURE && !listed.has(rel)) problems.push(`${rel}: not listed in the manifest (added after the pack was built)`);
  }
  const auditEntries = await checkAuditEntries(db, dir, problems);
  return { ok: problems.length === 0, problems, files: listed.size, auditEntries };
}

/** Each entry the pack lists must still be in the trail, unedited (its content matches its hash) and with the listed hash. */
async function checkAuditEntries(db: Kysely<Database>, dir: string, problems: string[]): Promise<number> {
  const file = path.join(dir, AUDIT_ENTRIES);
  if (!existsSync(file)) return 0;
  const listed: { seq: number; hash: string }[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line === '') return;
    try {
      const { seq, hash } = JSON.parse(line) as { seq: unknown; hash: unknown };
      if (Number.isSafeInteger(seq) && typeof hash === 'string') return void listed.push({ seq: seq as number, hash });
    } catch {
      // named below
    }
    problems.push(`${AUDIT_ENTRIES}:${i + 1}: not an audit reference ({"seq":…,"hash":…})`);
  });
  if (listed.length === 0) return 0;
  for (let i = 0; i < listed.length; i += 5000) {
    const chunk = listed.slice(i, i + 5000);
    const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', chunk[0]!.seq).where('seq', '<=', chunk[chunk.length - 1]!.seq).execute();
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    for (const { seq, hash } of chunk) {
      const entry = bySeq.get(seq);
      if (!entry) problems.push(`audit entry ${seq}: missing from the trail`);
      else if (entryHash(entry) !== entry.hash) problems.push(`audit entry ${seq}: edited (its content no longer matches its hash)`);
      else if (entry.hash !== hash) problems.push(`audit entry ${seq}: replaced (hash ${entry.hash}, the pack recorded ${hash})`);
    }
  }
  return listed.length;
}

function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(path.join(dir, rel)).isDirectory()) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out;
}
