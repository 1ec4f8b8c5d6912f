/**
 * Resolves a manager, sponsor or owner reference (by key, email or a
 * "Last, First" name) to an identity key, against the rows of the same file
 * first and the existing identities second. Pure.
 */
import type { IdentityDirectory } from './source-record.ts';
import type { ReferenceMode } from './source-config.ts';

/** A person as the file describes them, for references between its rows. */
export interface FilePerson {
  readonly key: string;
  readonly email: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
}

export type Resolution = { readonly key: string } | { readonly error: string };

export interface ReferenceResolver {
  resolve(value: string, by: ReferenceMode, role: string): Resolution;
}

const lower = (s: string): string => s.trim().toLowerCase();
const nameKey = (last: string, first: string): string => `${lower(last)}\u0000${lower(first)}`;

function push(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) index.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

/** An empty directory: no existing identities (a first import). */
export const EMPTY_DIRECTORY: IdentityDirectory = {
  byKey: () => null,
  byEmail: () => null,
  byName: () => [],
};

/**
 * Builds a resolver over the file's people and the existing identities.
 * A name that matches more than one identity is ambiguous and never guessed.
 */
export function createReferenceResolver(people: readonly FilePerson[], directory: IdentityDirectory): ReferenceResolver {
  const keys = new Set(people.map((p) => p.key));
  const byEmail = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const p of people) {
    if (p.email) push(byEmail, lower(p.email), p.key);
    if (p.lastName && p.firstName) push(byName, nameKey(p.lastName, p.firstName), p.key);
  }
  const outcome = (candidates: readonly string[], shown: string, role: string): Resolution => {
    const unique = [...new Set(candidates)];
    if (unique.length === 1) return { key: unique[0] ?? '' };
    if (unique.length === 0) return { error: `unknown ${role} "${shown}": not in this file nor among existing identities` };
    return { error: `${role} "${shown}" is ambiguous: it matches ${unique.join(', ')}` };
  };
  return {
    resolve(value, by, role) {
      const text = value.trim();
      if (by === 'id') {
        const key = keys.has(text) ? text : directory.byKey(text);
        return key ? { key } : outcome([], text, role);
      }
      if (by === 'email') {
        const fromFile = byEmail.get(lower(text)) ?? [];
        const existing = directory.byEmail(text);
        return outcome(existing ? [...fromFile, existing] : fromFile, text, role);
      }
      const comma = text.indexOf(',');
      if (comma < 0) return { error: `${role} "${text}" is not in "Last, First" form` };
      const last = text.slice(0, comma).trim();
      const first = text.slice(comma + 1).trim();
      const fromFile = byName.get(nameKey(last, first)) ?? [];
      return outcome([...fromFile, ...directory.byName(last, first)], text, role);
    },
  };
}

/**
 * An IdentityDirectory over identities held in memory (the importer loads the
 * existing identities once and passes this to every row).
 * @example createMemoryDirectory([{ key: 'E1', attributes: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' } }])
 */
export function createMemoryDirectory(
  identities: Iterable<{ readonly key: string; readonly attributes: Readonly<Record<string, string | null>> }>,
): IdentityDirectory {
  const keys = new Set<string>();
  const byEmail = new Map<string, string[]>();
  const byName = new Map<string, string[]>();
  for (const { key, attributes: a } of identities) {
    keys.add(key);
    if (a.email) push(byEmail, lower(a.email), key);
    if (a.last_name && a.first_name) push(byName, nameKey(a.last_name, a.first_name), key);
  }
  return {
    byKey: (key) => (keys.has(key) ? key : null),
    // Two identities sharing an email cannot be told apart by it: treat as unknown.
    byEmail: (email) => {
      const found = byEmail.get(lower(email)) ?? [];
      return found.length === 1 ? (found[0] ?? null) : null;
    },
    byName: (last, first) => byName.get(nameKey(last, first)) ?? [],
  };
}
