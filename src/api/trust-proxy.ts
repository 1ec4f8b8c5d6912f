/**
 * Which X-Forwarded-For entries to believe. Trusting every proxy lets any
 * client name its own address and so walk around per-address sign-in limits;
 * instead the operator says how many proxies stand in front (a hop count) or
 * which addresses they have (an allow-list of addresses and CIDR ranges).
 */
import { isIP } from 'node:net';
import { JmlError } from '../domain/errors.ts';

/** `false`: no proxy; a number: that many proxies in front; a list: the proxies' addresses or ranges. */
export type TrustProxy = false | number | readonly string[];

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/**
 * Parses the `--trust-proxy` value: a hop count (`1`) or a comma-separated
 * list of proxy addresses and CIDR ranges (`10.0.0.5,10.1.0.0/16`).
 * @example parseTrustProxy('1') // 1
 */
export function parseTrustProxy(value: string): TrustProxy {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    if (hops < 1 || hops > 10) throw new JmlError('invalid_input', `--trust-proxy: a hop count is 1–10, not ${trimmed}`);
    return hops;
  }
  const entries = trimmed.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const bad = entries.filter((e) => !isAddressOrRange(e));
  if (entries.length === 0 || bad.length > 0) {
    throw new JmlError('invalid_input', `--trust-proxy takes a hop count (1) or proxy addresses/CIDR ranges (10.0.0.5,10.1.0.0/16); not an address: ${bad.join(', ') || '(empty)'}. Trusting every proxy ("true") is no longer accepted: any client could then choose its own address.`);
  }
  return entries;
}
