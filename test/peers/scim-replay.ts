/**
 * Replays a recorded provisioning-client sequence (test/fixtures/scim-inbound/
 * *.json: what Entra ID, Okta or a Workday integration sends, step by step)
 * against a SCIM service provider and reports, per step, whether the answer
 * is the one that client expects. A step may capture a value from its answer
 * (`"capture": { "id": "id" }`) that later steps use as `{{id}}` in their
 * path, body or expectations.
 *
 * @example
 * const sequence = loadScimSequence('okta-sequence');
 * const steps = await replayScimSequence({ baseUrl: scim.url, token: scim.token, sequence });
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { field } from './scim-conformance-expect.ts';

const stepSchema = z.strictObject({
  name: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().startsWith('/'),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  expect: z.strictObject({
    status: z.number().int().min(100).max(599),
    /** Dotted path in the answer's JSON → the value it must hold. */
    json: z.record(z.string(), z.unknown()).optional(),
  }),
  /** Variable name → dotted path in the answer's JSON. */
  capture: z.record(z.string(), z.string()).optional(),
});

const sequenceSchema = z.strictObject({
  client: z.string().min(1),
  description: z.string().min(1),
  steps: z.array(stepSchema).min(1),
});

export type ScimSequence = z.infer<typeof sequenceSchema>;
export type ScimSequenceStep = z.infer<typeof stepSchema>;

export interface ReplayedStep {
  readonly name: string;
  readonly method: string;
  /** The path as sent, variables filled in. */
  readonly path: string;
  readonly status: number;
  readonly passed: boolean;
  /** Every expectation the answer missed, one per line; empty when it passed. */
  readonly message: string;
}

const fixtureDir = fileURLToPath(new URL('../fixtures/scim-inbound/', import.meta.url));

/** Reads and validates test/fixtures/scim-inbound/<name>.json. */
export function loadScimSequence(name: string): ScimSequence {
  return loadScimSequenceFile(`${fixtureDir}${name}.json`);
}

/** Reads and validates a sequence file; a malformed one is an error naming the file, step and field. */
export function loadScimSequenceFile(file: string): ScimSequence {
  const parsed = sequenceSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path[0] === 'steps' && typeof issue.path[1] === 'number' ? `step ${issue.path[1] + 1}, field ${issue.path.slice(2).join('.') || '(step)'}` : `field ${issue.path.join('.')}`;
    throw new Error(`${file}: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

const VARIABLE = /\{\{(\w+)\}\}/g;

/** Fills `{{name}}` in every string of a JSON value; a variable no earlier step captured is an error. */
function fill<T>(value: T, variables: ReadonlyMap<string, string>, encode = false): T {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_, name: string) => {
      const found = variables.get(name);
      if (found === undefined) throw new Error(`{{${name}}} was not captured by an earlier step`);
      return encode ? encodeURIComponent(found) : found;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, variables)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, variables)])) as T;
  return value;
}

/** Sends each step in order with the bearer token and checks its answer; later steps still run after a failed one. */
export async function replayScimSequence(options: { baseUrl: string; token: string; sequence: ScimSequence; timeoutMs?: number }): Promise<ReplayedStep[]> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const variables = new Map<string, string>();
  const results: ReplayedStep[] = [];
  for (const step of options.sequence.steps) {
    let path = step.path;
    try {
      path = fill(step.path, variables, true);
      const body = step.body === undefined ? undefined : JSON.stringify(fill(step.body, variables));
      const headers = { ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...step.headers, authorization: `Bearer ${options.token}` };
      const response = await fetch(`${baseUrl}${path}`, { method: step.method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const misses: string[] = [];
      if (response.status !== step.expect.status) misses.push(`status ${response.status}, expected ${step.expect.status}: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
      for (const [at, wanted] of Object.entries(fill(step.expect.json ?? {}, variables))) {
        const actual = field(json, at);
        if (JSON.stringify(actual) !== JSON.stringify(wanted)) misses.push(`${at} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
      }
      for (const [name, at] of Object.entries(step.capture ?? {})) {
        const value = field(json, at);
        if (typeof value === 'string' || typeof value === 'number') variables.set(name, String(value));
        else misses.push(`nothing to capture as {{${name}}} at ${at}`);
      }
      results.push({ name: step.name, method: step.method, path, status: response.status, passed: misses.length === 0, message: misses.join('\n') });
    } catch (error) {
      results.push({ name: step.name, method: step.method, path, status: 0, passed: false, message: (error as Error).message });
    }
  }
  return results;
}

/** One line per step: ✔/✖, the request, and what was missed. */
export function formatReplay(client: string, steps: readonly ReplayedStep[]): string {
  const lines = [`${client}: ${steps.filter((s) => s.passed).length} of ${steps.length} steps answered as the client expects`];
  for (const step of steps) {
    lines.push(`  ${step.passed ? 'ok  ' : 'FAIL'} ${step.method} ${step.path} — ${step.name}`);
    if (!step.passed) lines.push(...step.message.split('\n').map((line) => `       ${line}`));
  }
  return lines.join('\n');
}
