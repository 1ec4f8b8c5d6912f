/**
 * Testing a system's connection: the connector checks its settings and
 * reachability (`validate`), then reads one page of accounts. Nothing is
 * changed in the system and nothing is stored; the caller audits the test.
 */
import type { Connector } from '../connectors/connector.ts';

export interface SystemTestResult {
  readonly system: string;
  readonly ok: boolean;
  /** What `validate` reported, then what the read of one page failed with. */
  readonly problems: readonly string[];
  /** Accounts on the page read (at most `pageSize`); null when the read did not happen or failed. */
  readonly accountsRead: number | null;
  /** Whether the system has more accounts than the page held. */
  readonly more: boolean;
  /** Names of the first few accounts read, so a person sees the right directory answered. */
  readonly sample: readonly string[];
  readonly elapsedMs: number;
}

/**
 * Validates the connector and reads one page of accounts.
 * @example
 * const result = await testSystemConnection('directory', connector);
 * if (!result.ok) console.log(result.problems.join('\n'));
 */
export async function testSystemConnection(system: string, connector: Connector, pageSize = 20): Promise<SystemTestResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const validation = await connector.validate().catch((error: unknown) => ({ ok: false, problems: [(error as Error).message] }));
  if (!validation.ok) return { system, ok: false, problems: [...validation.problems], accountsRead: null, more: false, sample: [], elapsedMs: elapsed() };
  try {
    const page = await connector.list('accounts', null, pageSize);
    return { system, ok: true, problems: [], accountsRead: page.items.length, more: page.nextCursor !== null, sample: page.items.slice(0, 5).map((a) => a.name), elapsedMs: elapsed() };
  } catch (error) {
    // Any failure is the answer here (a refused bind, a TLS error, a 401): the test reports it rather than failing.
    return { system, ok: false, problems: [`reading one page of accounts failed: ${(error as Error).message}`], accountsRead: null, more: false, sample: [], elapsedMs: elapsed() };
  }
}
