/**
 * Templates: account attributes (`{first_name|lower}.{last_name|lower|ascii}`)
 * and entitlement names (`dept-{department|slug}`). A placeholder names an
 * identity field; filters run left to right. In an account attribute a missing
 * field renders as the empty string; an entitlement name with a missing field
 * names nothing (`renderStrict`). No expressions: only these filters.
 */
import type { Identity } from '../domain/identity.ts';
import { identityField } from './condition.ts';

/** What the `ascii` filter keeps unchanged. */
const ASCII_ONLY = /^[A-Za-z0-9._-]*$/;

export const TEMPLATE_FILTERS = {
  lower: (value: string) => value.toLowerCase(),
  upper: (value: string) => value.toUpperCase(),
  trim: (value: string) => value.trim(),
  /**
   * Latin letters without diacritics, digits and `._-`; everything else dropped (`Zoë O'Brien` → `ZoeOBrien`).
   * A value of those characters only (most names) is kept after one test, not normalised and scanned twice.
   */
  ascii: (value: string) => ASCII_ONLY.test(value) ? value : value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._-]/g, ''),
  /** Lower-case ASCII words joined by `-` (`R&D, Europe` → `r-d-europe`, `Sales+Ops` → `sales-ops`). */
  slug: (value: string) =>
    value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, ''),
} as const;
type FilterName = keyof typeof TEMPLATE_FILTERS;

type Part = string | { readonly field: string; readonly filters: readonly FilterName[] };
export type CompiledTemplate = readonly Part[];

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Problems with a template, for the policy loader; empty when it is usable. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  const stray = template.replace(PLACEHOLDER, '').search(/[{}]/);
  if (stray >= 0) problems.push(`unbalanced "{" or "}" in "${template}"`);
  for (const match of template.matchAll(PLACEHOLDER)) {
    const [field = '', ...filters] = (match[1] ?? '').split('|').map((part) => part.trim());
    if (!field) problems.push(`empty placeholder "${match[0]}"`);
    for (const filter of filters) {
      if (!(filter in TEMPLATE_FILTERS)) {
        problems.push(`unknown filter "${filter}" (known: ${Object.keys(TEMPLATE_FILTERS).join(', ')})`);
      }
    }
  }
  return problems;
}

/** Parses a template once; rendering a compiled template is a loop over its parts. */
export function compileTemplate(template: string): CompiledTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    const [field = '', ...filters] = (match[1] ?? '').split('|').map((part) => part.trim());
    parts.push({ field, filters: filters.filter((f): f is FilterName => f in TEMPLATE_FILTERS) });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
}

/** The identity fields a template reads, in order of first use. */
export function templateFields(template: CompiledTemplate): string[] {
  const fields: string[] = [];
  for (const part of template) if (typeof part !== 'string' && !fields.includes(part.field)) fields.push(part.field);
  return fields;
}

/** True when the template has at least one placeholder. */
export function isTemplate(text: string): boolean {
  return /\{[^{}]*\}/.test(text);
}

/**
 * Renders a template that names something (an entitlement): null when a field
 * it reads is missing or empty, or when a filter leaves a placeholder empty —
 * so a missing department never names a group `dept-`.
 */
export function renderStrict(template: CompiledTemplate, identity: Identity): string | null {
  return render(template, identity, true);
}

/**
 * A pattern matching every name the template can render: literal text exact,
 * each placeholder one or more characters. Used to recognise groups a template made.
 */
export function templatePattern(template: CompiledTemplate): RegExp {
  const body = template.map((part) => (typeof part === 'string' ? part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '.+')).join('');
  return new RegExp(`^${body}$`, 'u');
}

/** Renders a template for an identity; a missing field renders empty. */
export function renderTemplate(template: CompiledTemplate, identity: Identity): string {
  return render(template, identity, false)!;
}

/** Fills each placeholder with the identity's field through its filters; `strict`: null at the first empty one. */
function render(template: CompiledTemplate, identity: Identity, strict: boolean): string | null {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    let value = identityField(identity, part.field) ?? '';
    for (const filter of part.filters) value = TEMPLATE_FILTERS[filter](value);
    if (strict && value === '') return null;
    out += value;
  }
  return out;
}

/** The login name when a system sets no template: `first.last` in lower-case ASCII, else the identity key. */
export function defaultAccountName(identity: Identity): string {
  const first = TEMPLATE_FILTERS.ascii(identity.attributes.first_name ?? '').toLowerCase();
  const last = TEMPLATE_FILTERS.ascii(identity.attributes.last_name ?? '').toLowerCase();
  return first && last ? `${first}.${last}` : identity.key;
}
