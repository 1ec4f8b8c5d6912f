/**
 * Resolves a manager, sponsor or owner reference to an identity key, against
 * the rows of the same file first and the existing identities second. A
 * reference names the identity by key (`id`), `email`, name — "Last, First"
 * or "First Last" — (`name`), `display_name`, or any of these in that order
 * (`auto`). Names compare case-insensitively with whitespace normalised. Pure.
 */
import type { IdentityDirectory } from './source-record.ts';
import type { ReferenceMode } from './mapping-schema.ts';

/** A person as the file describes them, for references between its rows. */
export interface FilePerson {
  readonly key: string;
  readonly email: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly displayName?: string | null;
}

/** A reference's identity key, or why it has none (`unknown`: it names nobody, as opposed to several people). */
export type Resolution = { readonly key: string } | { readonly error: string; readonly unknown: boolean };

export interface ReferenceResolver {
  resolve(value: string, by: ReferenceMode, role: string): Resolution;
}

const lower = (s: string): string => s.normalize('NFC').trim().toLowerCase().replace(/\s+/g, ' ');
const nameKey = (last: string, first: string): string => `${lower(last)}\u0000${lower(first)}`;

function push(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) index.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

/**
 * Email and name indexes over people, built on first use: most files
 * reference by id, and 100k rows of name keys cost time and memory for nothing.
 */
class PeopleIndex {
  #built: { email: Map<string, string[]>; name: Map<string, string[]>; fullName: Map<string, string[]>; displayName: Map<string, string[]> } | null = null;
  readonly #people: readonly FilePerson[];
  constructor(people: readonly FilePerson[]) {
    this.#people = people;
  }
  get(index: 'email' | 'name' | 'fullName' | 'displayName', key: string): readonly string[] {
    return this.#index()[index].get(key) ?? [];
  }
  #index() {
    if (this.#built) return this.#built;
    const built = { email: new Map<string, string[]>(), name: new Map<string, string[]>(), fullName: new Map<string, string[]>(), displayName: new Map<string, string[]>() };
    for (const p of this.#people) {
      if (p.email) push(built.email, lower(p.email), p.key);
      if (p.lastName && p.firstName) {
        push(built.name, nameKey(p.lastName, p.firstName), p.key);
        push(built.fullName, lower(`${p.firstName} ${p.lastName}`), p.key);
      }
      if (p.displayName) push(built.displayName, lower(p.displayName), p.key);
    }
    return (this.#built = built);
  }
}

/** An empty directory: no existing identities (a first import). */
export const EMPTY_DIRECTORY: IdentityDirectory = {
  byKey: () => null,
  byEmail: () => null,
  byName: () => [],
  byFullName: () => [],
  byDisplayName: () => [],
};

/**
 * Builds a resolver over the file's people and the existing identities.
 * A name that matches more than one identity is ambiguous and never guessed.
 */
export function createReferenceResolver(people: readonly FilePerson[], directory: IdentityDirectory): ReferenceResolver {
  const keys = new Set(people.map((p) => p.key));
  const index = new PeopleIndex(people);
  const candidates = (text: string, by: Exclude<ReferenceMode, 'auto'>): string[] => {
    if (by === 'id') {
      const key = keys.has(text) ? text : directory.byKey(text);
      return key ? [key] : [];
    }
    if (by === 'email') {
      const existing = directory.byEmail(text);
      return [...index.get('email', lower(text)), ...(existing ? [existing] : [])];
    }
    if (by === 'display_name') return [...index.get('displayName', lower(text)), ...directory.byDisplayName(text)];
    const comma = text.indexOf(',');
    if (comma < 0) return [...index.get('fullName', lower(text)), ...directory.byFullName(text)];
    const last = text.slice(0, comma).trim();
    const first = text.slice(comma + 1).trim();
    return [...index.get('name', nameKey(last, first)), ...directory.byName(last, first)];
  };
  return {
    resolve(value, by, role) {
      const text = value.trim();
      const modes: readonly Exclude<ReferenceMode, 'auto'>[] = by === 'auto' ? ['id', 'email', 'name', 'display_name'] : [by];
      for (const mode of modes) {
        const unique = [...new Set(candidates(text, mode))];
        if (unique.length === 1) return { key: unique[0] ?? '' };
        if (unique.length > 1) return { error: `${role} "${text}" is ambiguous: by ${mode.replace('_', ' ')} it matches ${unique.join(', ')} — reference them by id or email instead`, unknown: false };
      }
      const how = by === 'auto' ? 'by id, email, name or display name' : by === 'name' ? 'by name ("Last, First" or "First Last")' : `by ${by.replace('_', ' ')}`;
      return { error: `unknown ${role} "${text}": not in this file nor among existing identities (looked up ${how})`, unknown: true };
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
  const list = [...identities];
  const keys = new Set(list.map((i) => i.key));
  const index = new PeopleIndex(
    list.map(({ key, attributes: a }) => ({ key, email: a.email ?? null, firstName: a.first_name ?? null, lastName: a.last_name ?? null, displayName: a.display_name ?? null })),
  );
  return {
    byKey: (key) => (keys.has(key) ? key : null),
    // Two identities sharing an email cannot be told apart by it: treat as unknown.
    byEmail: (email) => {
      const found = index.get('email', lower(email));
      return found.length === 1 ? (found[0] ?? null) : null;
    },
    byName: (last, first) => index.get('name', nameKey(last, first)),
    byFullName: (text) => index.get('fullName', lower(text)),
    byDisplayName: (text) => index.get('displayName', lower(text)),
  };
}
