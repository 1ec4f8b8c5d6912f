/**
 * Loads a policy directory: every *.yaml / *.yml file under it, each holding any
 * of `systems`, `entitlements`, `roles`, `rules`, `approvals`, `sod`, `reviews`, `profiles`. All problems are
 * collected (YAML syntax, schema, cross-references) and reported together, each
 * naming file, line and path: `policy/roles.yaml:14 roles[2].inducements[0].role: unknown role "dev-ops"`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument } from 'yaml';
import { JmlError } from '../domain/errors.ts';
import type { ApprovalPolicy, Policy, SystemDef } from '../domain/policy.ts';
import type { ReviewDef } from '../domain/review.ts';
import { canonicalHash } from '../engine/canonical-hash.ts';
import { checkReviews } from './review-check.ts';
import { checkPolicy, type Entry, type PathSegment, type PolicyEntries } from './policy-check.ts';
import { policyFileSchema, type PolicyFile } from './policy-schema.ts';
import { flattenIssues, formatPath, offsetOf } from './yaml-problems.ts';

export interface PolicyProblem {
  /** The file as found under the policy directory, prefixed with the directory given. */
  readonly file: string;
  /** 1-based; 0 when the problem concerns the directory itself. */
  readonly line: number;
  /** `roles[2].inducements[0].role`; empty for file-level problems. */
  readonly path: string;
  readonly message: string;
}

export interface PolicyFileInfo {
  readonly path: string;
  readonly sha256: string;
}

export interface LoadedPolicy {
  readonly policy: Policy;
  /** SHA-256 over the canonical content: independent of file layout, order, comments and formatting. */
  readonly hash: string;
  readonly files: readonly PolicyFileInfo[];
}

export interface LoadPolicyOptions {
  /**
   * Further problems of a valid system, each at a path below the system's entry
   * (`['connector', 'settings', 'users_ou']`): reported with file and line like
   * the loader's own (`jml policy check` passes its connector settings check).
   */
  readonly systemProblems?: (system: SystemDef) => readonly { readonly path: readonly PathSegment[]; readonly message: string }[];
}

/** One problem as a line of text: `file:line path: message`. */
export function formatProblem(problem: PolicyProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/**
 * Reads, validates and cross-checks every policy file under `dir`.
 * @throws JmlError('invalid_input') with `details.problems: PolicyProblem[]` listing every problem found.
 * @example const { policy, hash } = await loadPolicy('./policy');
 */
export async function loadPolicy(dir: string, options: LoadPolicyOptions = {}): Promise<LoadedPolicy> {
  const names = await policyFileNames(dir);
  const problems: PolicyProblem[] = [];
  if (names.length === 0) problems.push({ file: dir, line: 0, path: '', message: 'no policy files (*.yaml, *.yml)' });

  const entries = { systems: [], entitlements: [], roles: [], rules: [], sod: [], profiles: [] } as {
    [K in keyof PolicyEntries]-?: Entry<NonNullable<PolicyEntries[K]>[number]['value']>[];
  };
  const approvals: ApprovalPolicy[] = [];
  const reviews: Entry<ReviewDef>[] = [];
  const files: PolicyFileInfo[] = [];
  const located = new Map<string, (path: readonly PathSegment[]) => number>();

  for (const name of names) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    files.push({ path: name, sha256: createHash('sha256').update(text).digest('hex') });
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const lineOf = (path: readonly PathSegment[]) => lineCounter.linePos(offsetOf(doc, path)).line;
    located.set(file, lineOf);
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        problems.push({ file, line: lineCounter.linePos(error.pos[0]).line, path: '', message: error.message.split('\n')[0] ?? error.message });
      }
      continue;
    }
    const data: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
    const parsed = policyFileSchema.safeParse(data);
    if (!parsed.success) {
      for (const issue of flattenIssues(parsed.error.issues, data)) {
        problems.push({ file, line: lineOf(issue.path), path: formatPath(issue.path), message: issue.message });
      }
      continue;
    }
    collect(parsed.data, file, entries, approvals);
    parsed.data.reviews?.forEach((value, index) => reviews.push({ value, file, index }));
  }

  for (const problem of [...checkPolicy(entries), ...checkReviews(reviews, entries)]) {
    problems.push({
      file: problem.file,
      line: located.get(problem.file)?.(problem.path) ?? 0,
      path: formatPath(problem.path),
      message: problem.message,
    });
  }
  if (problems.length === 0 && options.systemProblems) {
    for (const entry of entries.systems) {
      for (const problem of options.systemProblems(entry.value)) {
        const path = ['systems', entry.index, ...problem.path];
        problems.push({ file: entry.file, line: located.get(entry.file)?.(path) ?? 0, path: formatPath(path), message: problem.message });
      }
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map(formatProblem).join('\n');
    const more = problems.length > 20 ? `\n… and ${problems.length - 20} more` : '';
    throw new JmlError('invalid_input', `policy in ${dir} has ${problems.length} problem(s):\n${shown}${more}`, {
      details: { dir, problems },
    });
  }
  const policy: Policy = {
    systems: entries.systems.map((e) => e.value),
    entitlements: entries.entitlements.map((e) => e.value),
    roles: entries.roles.map((e) => e.value),
    rules: entries.rules.map((e) => e.value),
    approvals,
    ...(entries.sod.length > 0 ? { sod: entries.sod.map((e) => e.value) } : {}),
    ...(reviews.length > 0 ? { reviews: reviews.map((e) => e.value) } : {}),
    ...(entries.profiles.length > 0 ? { profiles: entries.profiles.map((e) => e.value) } : {}),
  };
  return { policy, hash: policyHash(policy), files };
}

/** The policy files under `dir` (*.yaml, *.yml; hidden files and folders skipped), relative and sorted. */
export async function policyFileNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true }))
      .filter((name) => /\.ya?ml$/i.test(name) && !name.split(/[\\/]/).some((part) => part.startsWith('.')))
      .sort();
  } catch (cause) {
    throw new JmlError('invalid_input', `cannot read policy directory ${dir}`, { cause, details: { dir } });
  }
}

/**
 * A digest of the policy files' bytes (names and contents), without parsing
 * them: cheap enough to check on every tick whether a reload is due. It
 * equals `filesDigest(loadPolicy(dir).files)` for the same directory.
 */
export async function policyDirDigest(dir: string): Promise<string> {
  const files: PolicyFileInfo[] = [];
  for (const name of await policyFileNames(dir)) {
    files.push({ path: name, sha256: createHash('sha256').update(await readFile(join(dir, name), 'utf8')).digest('hex') });
  }
  return filesDigest(files);
}

/** The digest of a loaded policy's files, comparable with `policyDirDigest`. */
export function filesDigest(files: readonly PolicyFileInfo[]): string {
  return createHash('sha256').update(files.map((f) => `${f.path}\u0000${f.sha256}`).join('\n')).digest('hex');
}

/** SHA-256 of a policy's canonical content; collections are ordered by name so moving an item between files keeps the hash. */
export function policyHash(policy: Policy): string {
  const byName = <T extends { name: string }>(items: readonly T[]) => [...items].sort((a, b) => cmp(a.name, b.name));
  return canonicalHash({
    systems: byName(policy.systems),
    entitlements: [...policy.entitlements].sort((a, b) => cmp(`${a.system}:${a.name}`, `${b.system}:${b.name}`)),
    roles: byName(policy.roles),
    rules: byName(policy.rules),
    approvals: policy.approvals,
    // Only when present: a policy without SoD rules keeps the hash it had before they existed.
    ...(policy.sod && policy.sod.length > 0 ? { sod: byName(policy.sod) } : {}),
    // Absent when empty, so a policy without reviews keeps the hash it had before reviews existed.
    ...(policy.reviews && policy.reviews.length > 0 ? { reviews: byName(policy.reviews) } : {}),
    // Profiles keep their file order (the first match wins); absent, the hash of older policies is unchanged.
    ...(policy.profiles ? { profiles: policy.profiles } : {}),
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function collect(
  data: PolicyFile,
  file: string,
  entries: { [K in keyof PolicyEntries]-?: Entry<NonNullable<PolicyEntries[K]>[number]['value']>[] },
  approvals: ApprovalPolicy[],
): void {
  data.profiles?.forEach((value, index) => entries.profiles.push({ value, file, index }));
  data.systems?.forEach((value, index) => entries.systems.push({ value, file, index }));
  data.entitlements?.forEach((value, index) => entries.entitlements.push({ value, file, index }));
  data.roles?.forEach((value, index) => entries.roles.push({ value, file, index }));
  data.rules?.forEach((value, index) => entries.rules.push({ value, file, index }));
  if (data.approvals) approvals.push(...data.approvals);
  data.sod?.forEach((value, index) => entries.sod.push({ value, file, index }));
}
