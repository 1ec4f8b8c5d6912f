/**
 * Group member adds and removes, folded per group: the member changes for
 * one group that wait while an earlier PATCH to it is out (or while every
 * request slot is taken) go together in the next PATCH, as several values of
 * one `add` and several `remove` operations (RFC 7644 §3.5.2; Entra ID and
 * Okta accept both). A provider rewrites the whole group for each PATCH, so
 * at a few thousand members one PATCH per change made every other call —
 * a leaver's disable among them — wait behind a long queue of group writes.
 *
 * Each change's outcome stays its own: when a folded PATCH fails, every
 * change in it is sent again alone, and what each of those answers is what
 * that change gets. The caller still confirms each change by its own read-back.
 */
import type { ScimClient } from './scim-client.ts';
import { PATCH_SCHEMA, type ScimPatchOperation } from './scim-mapping.ts';

export type MemberOperation = 'add' | 'remove';

export interface MemberPatcher {
  /** Adds or removes one member of a group; resolves when a PATCH carrying it has been answered. */
  change(groupId: string, operation: MemberOperation, accountId: string): Promise<void>;
}

interface Pending {
  readonly operation: MemberOperation;
  readonly accountId: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The PATCH operations for member changes in the order they came, adds next to each other folded into one. */
export function memberOperations(changes: readonly Pick<Pending, 'operation' | 'accountId'>[]): ScimPatchOperation[] {
  const operations: ScimPatchOperation[] = [];
  const added = new Set<string>();
  for (const { operation, accountId } of changes) {
    if (operation === 'remove') {
      added.delete(accountId);
      operations.push({ op: 'remove', path: `members[value eq ${JSON.stringify(accountId)}]` });
      continue;
    }
    if (added.has(accountId)) continue;
    added.add(accountId);
    const last = operations.at(-1);
    if (last?.op === 'add') (last.value as { value: string }[]).push({ value: accountId });
    else operations.push({ op: 'add', path: 'members', value: [{ value: accountId }] });
  }
  return operations;
}

/**
 * Member changes of one SCIM system, folded per group.
 * @example
 * const members = createMemberPatcher(client);
 * await members.change(groupId, 'add', userId);
 */
export function createMemberPatcher(client: ScimClient): MemberPatcher {
  const waiting = new Map<string, Pending[]>();
  const sending = new Set<string>();
  const path = (groupId: string) => `/Groups/${encodeURIComponent(groupId)}`;
  const body = (changes: readonly Pending[]) => ({ schemas: [PATCH_SCHEMA], Operations: memberOperations(changes) });

  async function alone(groupId: string, pending: Pending): Promise<void> {
    try {
      await client.request('PATCH', path(groupId), body([pending]));
      pending.resolve();
    } catch (error) {
      pending.reject(error);
    }
  }

  async function drain(groupId: string): Promise<void> {
    sending.add(groupId);
    try {
      while ((waiting.get(groupId)?.length ?? 0) > 0) {
        let batch: Pending[] = [];
        try {
          await client.requestComposed('PATCH', path(groupId), () => {
            batch = waiting.get(groupId) ?? [];
            waiting.delete(groupId);
            return body(batch);
          });
          for (const pending of batch) pending.resolve();
        } catch (error) {
          if (batch.length === 1) batch[0]!.reject(error);
          else await Promise.all(batch.map((pending) => alone(groupId, pending)));
        }
      }
    } finally {
      sending.delete(groupId);
    }
  }

  return {
    change(groupId, operation, accountId) {
      return new Promise<void>((resolve, reject) => {
        const queue = waiting.get(groupId) ?? [];
        queue.push({ operation, accountId, resolve, reject });
        waiting.set(groupId, queue);
        if (!sending.has(groupId)) void drain(groupId);
      });
    },
  };
}
