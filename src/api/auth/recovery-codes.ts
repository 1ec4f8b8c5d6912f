/**
 * Recovery codes: ten random codes, shown once, each good for one sign-in
 * when the passkey and the phone are both gone. Stored as SHA-256 of the user
 * id and the code: the codes carry 50 random bits each and every guess goes
 * through the sign-in limiter, so a slow hash would add cost, not safety.
 */
import { createHash, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';

export const RECOVERY_CODE_COUNT = 10;
// Crockford's base32: no I, L, O, U, so nothing reads as another character.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Upper-case, without spaces or dashes, with the look-alikes folded (o→0, i/l→1). */
export function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

function hashCode(userId: string, code: string): string {
  return createHash('sha256').update(`${userId}\u0000${normaliseRecoveryCode(code)}`).digest('hex');
}

function newCode(): string {
  const chars = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]!).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** Replaces the user's codes with ten new ones, returned once. Pass a transaction to commit them with their audit entry. */
export async function issueRecoveryCodes(db: Kysely<Database>, userId: string, now: Date): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  await db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db.insertInto('mfa_recovery_codes').values(codes.map((c) => ({ user_id: userId, code_hash: hashCode(userId, c), created_at: now.toISOString() }))).execute();
  return codes;
}

/** Uses up a code: true the first time a valid code is given, false ever after (and for any wrong code). */
export async function useRecoveryCode(db: Kysely<Database>, userId: string, code: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now.toISOString() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashCode(userId, code))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** How many unused codes the user has left. */
export async function recoveryCodesLeft(db: Kysely<Database>, userId: string): Promise<number> {
  const row = await db.selectFrom('mfa_recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}
