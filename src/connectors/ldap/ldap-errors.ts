/**
 * Turns what ldapts and the socket throw into JmlErrors that say what failed
 * and whether trying again later can help. Messages carry the operation, the
 * DN and the server's diagnostic, never a password.
 */
import { ResultCodeError } from 'ldapts';
import { JmlError } from '../../domain/errors.ts';
import type { ChangeOutcome } from '../../domain/change.ts';

/** Result codes where the same request may succeed later (RFC 4511 §A.2). */
const RETRYABLE_CODES = new Set([
  3, // timeLimitExceeded
  51, // busy
  52, // unavailable
]);

const NAMES: Readonly<Record<number, string>> = {
  1: 'operations error', 3: 'time limit exceeded', 4: 'size limit exceeded', 8: 'strong authentication required',
  11: 'admin limit exceeded', 13: 'confidentiality required', 16: 'no such attribute', 17: 'undefined attribute type',
  19: 'constraint violation', 20: 'attribute or value exists', 21: 'invalid attribute syntax', 32: 'no such object',
  34: 'invalid DN syntax', 48: 'inappropriate authentication', 49: 'invalid credentials', 50: 'insufficient access rights',
  51: 'busy', 52: 'unavailable', 53: 'unwilling to perform', 64: 'naming violation', 65: 'object class violation',
  66: 'not allowed on non-leaf', 67: 'not allowed on RDN', 68: 'entry already exists', 80: 'other',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** The LDAP result code of an error, or undefined for network and other failures. */
export function ldapResultCode(error: unknown): number | undefined {
  return error instanceof ResultCodeError ? error.code : undefined;
}

function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code && NETWORK_CODES.has(code)) return true;
  return /connection timeout|socket error|socket closed|connection (lost|closed)|not reconnecting/i.test(error.message);
}

/**
 * Classifies a failure of `operation` on `dn`. Network failures and busy /
 * unavailable servers are retryable; everything the server refused on the
 * merits (credentials, constraints, missing entries, rights) is terminal.
 */
export function ldapError(error: unknown, operation: string, dn: string, system: string): JmlError {
  if (error instanceof JmlError) return error;
  const code = ldapResultCode(error);
  // ldapts appends ' Code: 0x..' to the server's diagnostic; the code is reported in our own words.
  const diagnostic = error instanceof Error ? (error.message.split('\n')[0] ?? '').replace(/ Code: 0x[0-9a-f]+$/i, '').slice(0, 300) : String(error);
  if (code !== undefined) {
    const name = NAMES[code] ?? `result code ${code}`;
    return new JmlError('connector', `LDAP ${operation} of ${dn} failed: ${name} (${code}): ${diagnostic}`, {
      cause: error,
      retryable: RETRYABLE_CODES.has(code),
      details: { system, operation, dn, resultCode: code },
    });
  }
  if (isNetworkFailure(error)) {
    return new JmlError('connector', `LDAP ${operation} of ${dn} failed: server unreachable: ${diagnostic}`, {
      cause: error, retryable: true, details: { system, operation, dn, unreachable: true },
    });
  }
  if (error instanceof Error && /certificate|self[- ]signed|CERT_|TLS|SSL/i.test(error.message + String((error as NodeJS.ErrnoException).code))) {
    return new JmlError('connector', `LDAP ${operation} failed: TLS could not be established: ${diagnostic}`, {
      cause: error, retryable: false, details: { system, operation, dn, tls: true },
    });
  }
  return new JmlError('connector', `LDAP ${operation} of ${dn} failed: ${diagnostic}`, {
    cause: error, retryable: false, details: { system, operation, dn },
  });
}

/** The failed outcome for a change whose apply threw. */
export function failedOutcome(error: unknown): ChangeOutcome {
  if (error instanceof JmlError) return { status: 'failed', retryable: error.retryable, message: error.message };
  return { status: 'failed', retryable: false, message: error instanceof Error ? error.message : String(error) };
}
