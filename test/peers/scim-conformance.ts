/**
 * Runs the SCIM 2.0 conformance checks (scim-conformance-checks.ts) against a
 * service provider over HTTP and returns one result per check. Used by the
 * tests that prove a SCIM endpoint (the SCIMMY peer, jml's own `/scim/v2`) and
 * by hand:
 *
 *   SCIM_TOKEN=… npx node test/peers/scim-conformance.ts --base-url http://127.0.0.1:8080/scim/v2 [--json] [--only id,id]
 *
 * The token is read from the environment, never from the command line, so it
 * stays out of `ps` and shell history. Every user the run creates has a
 * userName under one random prefix, so runs never collide and leftovers are
 * recognisable; each check deletes what it created (best effort, not judged).
 *
 * @example
 * const report = await runScimConformance({ baseUrl: scim.url, token: scim.token });
 * console.log(formatConformanceReport(report));
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CONFORMANCE_CHECKS } from './scim-conformance-checks.ts';
import { CheckFailed, CheckSkipped, CORE_USER, type CheckContext, type ConformanceCheck, type RequestOptions, type ScimAnswer, type UserSeed } from './scim-conformance-expect.ts';

export type { CheckContext, ConformanceCheck, UserSeed };

export type CheckOutcome = 'passed' | 'failed' | 'skipped';

/** One check's verdict: `message` says why it failed or was skipped. */
export interface CheckResult {
  readonly id: string;
  readonly name: string;
  /** Where the expectation comes from: an RFC section or a vendor's published test. */
  readonly source: string;
  readonly outcome: CheckOutcome;
  readonly passed: boolean;
  readonly message: string;
}

export interface ConformanceReport {
  readonly baseUrl: string;
  readonly checks: readonly CheckResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export interface ConformanceOptions {
  /** The SCIM base URL, e.g. http://127.0.0.1:41234/scim/v2 (no trailing slash needed). */
  readonly baseUrl: string;
  readonly token: string;
  /** Run only these check ids (default: all). */
  readonly only?: readonly string[];
  /**
   * Builds the body of a user the run creates, from its seed. Defaults to a
   * core User with name, emails, displayName, externalId and active; a
   * provider whose mapping needs more (jml: the enterprise extension's
   * employeeNumber, a start date) passes its own, keeping the seed's
   * `userName` and `externalId`.
   */
  readonly userTemplate?: (seed: UserSeed) => Record<string, unknown>;
  /** Milliseconds per request before it counts as failed (default 10 s). */
  readonly timeoutMs?: number;
}

function defaultUserBody(seed: UserSeed): Record<string, unknown> {
  return {
    schemas: [CORE_USER],
    userName: seed.userName,
    externalId: seed.externalId,
    name: { givenName: seed.givenName, familyName: seed.familyName },
    displayName: `${seed.givenName} ${seed.familyName}`,
    emails: [{ value: seed.email, type: 'work', primary: true }],
    active: true,
  };
}

/** Runs the checks in order, each on users of its own, and reports every verdict. */
export async function runScimConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const prefix = `conf-${randomBytes(4).toString('hex')}`;
  const template = options.userTemplate ?? defaultUserBody;
  let counter = 0;
  let spc: Promise<Record<string, any> | undefined> | undefined;

  const request = async (method: string, path: string, requestOptions: RequestOptions = {}): Promise<ScimAnswer> => {
    const headers: Record<string, string> = { accept: 'application/scim+json', ...requestOptions.headers };
    const authorization = requestOptions.authorization === undefined ? `Bearer ${options.token}` : requestOptions.authorization;
    if (authorization !== null) headers.authorization = authorization;
    let body: string | undefined;
    if (requestOptions.body !== undefined) {
      body = typeof requestOptions.body === 'string' ? requestOptions.body : JSON.stringify(requestOptions.body);
      headers['content-type'] ??= 'application/scim+json';
    }
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new CheckFailed(`${method} ${path} did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };

  const seed = (tag = 'u'): UserSeed => {
    counter += 1;
    const key = `${prefix}-${tag}-${String(counter).padStart(3, '0')}`;
    return { userName: `${key}@example.test`, externalId: key, givenName: 'Ada', familyName: `Tester${counter}`, email: `${key}@mail.example.test` };
  };

  const runOne = async (check: ConformanceCheck): Promise<CheckResult> => {
    const created: string[] = [];
    const context: CheckContext = {
      prefix,
      request,
      seed,
      userBody: template,
      serviceProviderConfig: () => {
        spc ??= request('GET', '/ServiceProviderConfig').then(
          (answer) => (answer.status === 200 && answer.json && typeof answer.json === 'object' ? answer.json : undefined),
          () => undefined,
        );
        return spc;
      },
      createUser: async (overrides = {}, userSeed = seed()) => {
        const body = { ...template(userSeed), ...overrides };
        const answer = await request('POST', '/Users', { body });
        if (answer.status !== 201 || typeof answer.json?.id !== 'string') {
          throw new CheckFailed(`setup: POST /Users answered ${answer.status} ${answer.text.slice(0, 300)}`);
        }
        created.push(answer.json.id);
        return answer.json;
      },
    };
    const base = { id: check.id, name: check.name, source: check.source };
    try {
      await check.run(context);
      return { ...base, outcome: 'passed', passed: true, message: '' };
    } catch (error) {
      if (error instanceof CheckSkipped) return { ...base, outcome: 'skipped', passed: false, message: error.message };
      const message = error instanceof CheckFailed ? error.message : `the check itself broke: ${(error as Error).stack ?? String(error)}`;
      return { ...base, outcome: 'failed', passed: false, message };
    } finally {
      for (const id of created) await request('DELETE', `/Users/${encodeURIComponent(id)}`).catch(() => undefined);
    }
  };

  const selected = options.only ? CONFORMANCE_CHECKS.filter((c) => options.only!.includes(c.id)) : CONFORMANCE_CHECKS;
  if (options.only) {
    const unknown = options.only.filter((id) => !CONFORMANCE_CHECKS.some((c) => c.id === id));
    if (unknown.length > 0) throw new Error(`unknown conformance check id(s): ${unknown.join(', ')}`);
  }
  const checks: CheckResult[] = [];
  for (const check of selected) checks.push(await runOne(check));
  return {
    baseUrl,
    checks,
    passed: checks.filter((c) => c.outcome === 'passed').length,
    failed: checks.filter((c) => c.outcome === 'failed').length,
    skipped: checks.filter((c) => c.outcome === 'skipped').length,
  };
}

/** A human-readable summary: the pass count, then each failed and skipped check with its reason. */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = [`SCIM conformance of ${report.baseUrl}: ${report.passed} of ${report.checks.length} checks pass (${report.failed} fail, ${report.skipped} skipped)`];
  for (const check of report.checks) {
    if (check.outcome === 'passed') continue;
    lines.push(`  ${check.outcome === 'failed' ? 'FAIL' : 'SKIP'} ${check.id} — ${check.name} [${check.source}]`, ...check.message.split('\n').map((line) => `       ${line}`));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'base-url': { type: 'string' }, json: { type: 'boolean', default: false }, only: { type: 'string' }, list: { type: 'boolean', default: false } },
  });
  if (values.list) {
    for (const check of CONFORMANCE_CHECKS) console.log(`${check.id}\t${check.name}\t[${check.source}]`);
    return;
  }
  const token = process.env.SCIM_TOKEN;
  if (!values['base-url'] || !token) {
    console.error('usage: SCIM_TOKEN=<bearer token> node test/peers/scim-conformance.ts --base-url <SCIM base URL> [--json] [--only id,id] | --list');
    process.exitCode = 2;
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((id) => !CONFORMANCE_CHECKS.some((c) => c.id === id)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown conformance check id(s): ${unknown.join(', ')} (--list shows them)`);
    process.exitCode = 2;
    return;
  }
  const report = await runScimConformance({ baseUrl: values['base-url'], token, only });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatConformanceReport(report));
  if (report.failed > 0) process.exitCode = 1;
}

if (import.meta.main) await main();
