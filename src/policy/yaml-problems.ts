/**
 * Where a schema problem sits in a YAML file, for messages that name file,
 * line and path (`policy/roles.yaml:14 roles[2].inducements[0].role: …`).
 * Shared by the policy loader and the configuration; a module of its own so
 * that reading the configuration does not load the policy's schemas and checks
 * (~80 ms of CPU in every command).
 */
import { isMap, isSeq, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import type { PathSegment } from './policy-check.ts';

/** `roles[2].inducements[0].role` */
export function formatPath(path: readonly PathSegment[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

/** Offset in the YAML text of the deepest node on `path` that exists; a map entry is located at its key. */
export function offsetOf(doc: Document, path: readonly PathSegment[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents?.range?.[0]) ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

interface FlatIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const seg of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[seg];
  }
  return value;
}

/**
 * zod issues as one message per place. A failed union (a condition or an
 * inducement) reports the branch the author evidently meant — the one whose key
 * they wrote — or, when no branch fits, the keys that were expected.
 */
export function flattenIssues(issues: readonly z.core.$ZodIssue[], root: unknown, prefix: readonly PathSegment[] = []): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const value = valueAt(root, path);
      const meant = issue.errors.filter((branch) =>
        !branch.some((i) =>
          (i.code === 'unrecognized_keys' && i.path.length === 0) ||
          (i.code === 'invalid_type' && i.path.length <= 1 && valueAt(value, i.path) === undefined)));
      if (meant.length > 0) {
        out.push(...flattenIssues(meant[0]!, root, path));
        continue;
      }
      const expected = issue.errors.flatMap((branch) =>
        branch.filter((i) => i.path.length === 1 && valueAt(value, i.path) === undefined).map((i) => String(i.path[0])));
      const written = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
      const got = written.length > 0 ? `found ${written.map((k) => `"${k}"`).join(', ')}; ` : '';
      out.push({ path, message: `${got}expected exactly one of: ${[...new Set(expected)].join(', ')}` });
    } else if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key "${key}"` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}
