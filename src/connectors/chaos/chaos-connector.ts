/**
 * A fault-injecting wrapper around any connector, for engine tests: timeouts,
 * 429 with Retry-After, 503, partial pages (fewer items, still a valid cursor)
 * and the classic crash in the middle of a change — the change takes effect in
 * the system, then the call throws or never returns. A seeded PRNG makes every
 * run reproducible.
 */
import { z } from 'zod';
import type { Change, ChangeOutcome } from '../../domain/change.ts';
import { JmlError } from '../../domain/errors.ts';
import type { ChangeSecrets, Connector, ListKind, ListTypes, Page } from '../connector.ts';

const rate = z.number().min(0).max(1);

export const chaosSettingsSchema = z.object({
  seed: z.number().int().default(1),
  /** Probability, per call, that it times out before reaching the system. */
  timeoutRate: rate.default(0),
  /** Probability of a 429 (retryable, with `retryAfterMs`). */
  rateLimitRate: rate.default(0),
  /** Probability of a 503 (retryable). */
  unavailableRate: rate.default(0),
  /** Probability that a list page comes back short (still with a valid cursor). */
  partialPageRate: rate.default(0),
  /** Probability that apply crashes after the change took effect. */
  crashRate: rate.default(0),
  /** After a crash: throw, hang forever, or pick one at random. */
  crashMode: z.enum(['throw', 'hang', 'mixed']).default('throw'),
  retryAfterMs: z.number().int().min(0).default(1_000),
  /** How long a simulated timeout waits (through the injected sleep) before failing. */
  timeoutMs: z.number().int().min(0).default(0),
});
export type ChaosSettings = z.input<typeof chaosSettingsSchema>;

export type ChaosFault = 'timeout' | 'rate_limited' | 'unavailable' | 'partial_page' | 'crash';

export interface ChaosConnectorDeps {
  readonly inner: Connector;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ChaosConnector extends Connector {
  /** Faults injected so far, by kind. */
  readonly injected: Readonly<Record<ChaosFault, number>>;
}

/** Mulberry32: a small, well-mixed 32-bit PRNG; enough for fault injection. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Wraps `deps.inner` with faults at the configured rates.
 * @example
 * const chaos = createChaosConnector({ seed: 7, crashRate: 0.2 }, { inner: createFakeConnector({}, { system: 'wiki' }) });
 */
export function createChaosConnector(rawSettings: ChaosSettings, deps: ChaosConnectorDeps): ChaosConnector {
  const settings = chaosSettingsSchema.parse(rawSettings);
  const { inner } = deps;
  const sleep = deps.sleep ?? (async () => {});
  const random = seededRandom(settings.seed);
  const injected: Record<ChaosFault, number> = { timeout: 0, rate_limited: 0, unavailable: 0, partial_page: 0, crash: 0 };
  const system = () => inner.describe().type;

  /** Draws the transport fault for one call, if any. */
  function drawFault(): 'timeout' | 'rate_limited' | 'unavailable' | null {
    const r = random();
    let edge = settings.timeoutRate;
    if (r < edge) return 'timeout';
    edge += settings.rateLimitRate;
    if (r < edge) return 'rate_limited';
    edge += settings.unavailableRate;
    if (r < edge) return 'unavailable';
    return null;
  }

  async function failCall(fault: 'timeout' | 'rate_limited' | 'unavailable', operation: string): Promise<never> {
    injected[fault]++;
    if (fault === 'timeout') {
      await sleep(settings.timeoutMs);
      throw new JmlError('connector', `chaos: ${operation} timed out`, { retryable: true, details: { fault } });
    }
    const status = fault === 'rate_limited' ? 429 : 503;
    const retryAfterMs = fault === 'rate_limited' ? settings.retryAfterMs : undefined;
    throw new JmlError('connector', `chaos: ${operation} answered ${status}`, { retryable: true, details: { fault, status, retryAfterMs } });
  }

  async function guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const fault = drawFault();
    if (fault) return failCall(fault, operation);
    return call();
  }

  const connector: ChaosConnector = {
    injected,
    describe: () => inner.describe(),
    validate: () => inner.validate(),
    readBack: (change) => guarded('readBack', () => inner.readBack(change)),
    list: <K extends ListKind>(kind: K, cursor: string | null, pageSize?: number) =>
      guarded('list', () => listWithPartialPages(inner, kind, cursor, pageSize, () => {
        if (random() >= settings.partialPageRate) return false;
        injected.partial_page++;
        return true;
      }, random)),
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
  if (inner.apply) {
    const innerApply = inner.apply.bind(inner);
    connector.apply = async (change: Change, secrets?: ChangeSecrets): Promise<ChangeOutcome> => {
      const fault = drawFault();
      if (fault === 'timeout') return failCall(fault, 'apply');
      if (fault) {
        injected[fault]++;
        const retryAfterMs = fault === 'rate_limited' ? settings.retryAfterMs : undefined;
        return { status: 'failed', retryable: true, message: `chaos: ${fault === 'rate_limited' ? 429 : 503}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      }
      const crash = random() < settings.crashRate;
      const outcome = await innerApply(change, secrets);
      if (!crash) return outcome;
      injected.crash++;
      const hang = settings.crashMode === 'hang' || (settings.crashMode === 'mixed' && random() < 0.5);
      // The change took effect; the caller never learns it. Only read-back can tell.
      if (hang) return new Promise<never>(() => {});
      throw new JmlError('connector', `chaos: connection reset after ${change.kind} reached ${system()}`, { retryable: true, details: { fault: 'crash' } });
    };
  }
  return connector;
}

interface ChaosCursor {
  /** The inner connector's cursor for the page being served. */
  readonly c: string | null;
  /** How many items of that inner page were already served. */
  readonly s: number;
}

/**
 * Serves inner pages, sometimes cut short. The cursor remembers the inner
 * cursor and how far into its page we got, so walking still visits every item
 * exactly once (the inner connector must answer the same cursor the same way).
 */
async function listWithPartialPages<K extends ListKind>(
  inner: Connector,
  kind: K,
  cursor: string | null,
  pageSize: number | undefined,
  cutShort: () => boolean,
  random: () => number,
): Promise<Page<ListTypes[K]>> {
  const at = decodeCursor(cursor);
  const page = await inner.list(kind, at.c, pageSize);
  const rest = page.items.slice(at.s);
  let served = rest.length;
  if (rest.length > 1 && cutShort()) served = 1 + Math.floor(random() * (rest.length - 1));
  const items = rest.slice(0, served);
  if (served < rest.length) return { items, nextCursor: encodeCursor({ c: at.c, s: at.s + served }) };
  return { items, nextCursor: page.nextCursor === null ? null : encodeCursor({ c: page.nextCursor, s: 0 }) };
}

function encodeCursor(cursor: ChaosCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(cursor: string | null): ChaosCursor {
  if (cursor === null) return { c: null, s: 0 };
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ChaosCursor;
    if ((typeof parsed.c === 'string' || parsed.c === null) && Number.isInteger(parsed.s)) return parsed;
  } catch {
    // fall through to the error below
  }
  throw new JmlError('connector', `chaos: invalid cursor ${JSON.stringify(cursor)}`);
}
