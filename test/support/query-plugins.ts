/**
 * Kysely plugins the store tests put on a database handle: one that dies at
 * the k-th statement, as a killed worker would, and one that counts statements.
 */
import type { KyselyPlugin } from 'kysely';

/** What `dieAtQuery` throws: tell it apart from a real failure. */
export class WorkerDied extends Error {}

/** A Kysely plugin that fails the k-th query and every one after it, as a killed worker would. */
export function dieAtQuery(k: number): KyselyPlugin {
  let seen = 0;
  return {
    transformQuery: (args) => {
      if (++seen >= k) throw new WorkerDied(`died at query ${k}`);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
}

/** Counts the statements sent through the Kysely handle it is plugged into. */
export function statementCounter(): KyselyPlugin & { count: number } {
  const counter = {
    count: 0,
    transformQuery: (args: Parameters<KyselyPlugin['transformQuery']>[0]) => (counter.count++, args.node),
    transformResult: async (args: Parameters<KyselyPlugin['transformResult']>[0]) => args.result,
  };
  return counter;
}
