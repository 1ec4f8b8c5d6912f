/**
 * Which variant of the fault campaign runs — the database, where plans are
 * applied, whether a real OpenLDAP takes part — and what it needs: a fresh
 * store per history and the target each history applies to. Shared by the
 * campaign's own process and its `--parallel` children.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { campaignDatabases, type CampaignStore } from './campaign-database.ts';
import { directoryProcessTarget, directoryTarget } from './campaign-directory.ts';
import { processTarget } from './campaign-processes.ts';
import { inProcessTarget, type CampaignTarget } from './campaign-world.ts';

export interface CampaignVariant {
  readonly backend: 'pglite' | 'postgres';
  readonly workers: 'in-process' | 'processes';
  readonly openldap: boolean;
}

/** The variant the command-line options name; refuses a combination that cannot run, saying why. */
export function parseVariant(options: { readonly backend?: string | undefined; readonly workers?: string | undefined; readonly openldap?: boolean | undefined }): CampaignVariant {
  const backend = options.backend ?? 'pglite';
  const workers = options.workers ?? 'in-process';
  if (backend !== 'pglite' && backend !== 'postgres') throw new Error(`--backend must be pglite or postgres, got "${backend}"`);
  if (workers !== 'in-process' && workers !== 'processes') throw new Error(`--workers must be in-process or processes, got "${workers}"`);
  if (workers === 'processes' && backend !== 'postgres') throw new Error('--workers processes needs --backend postgres: worker processes share one database server');
  return { backend, workers, openldap: options.openldap === true };
}

/** The options that choose `variant`, as they are typed (for a replay command). */
export function variantOptions(variant: CampaignVariant): string {
  return `${variant.backend !== 'pglite' ? ` --backend ${variant.backend}` : ''}${variant.workers !== 'in-process' ? ` --workers ${variant.workers}` : ''}${variant.openldap ? ' --openldap' : ''}`;
}

/** A variant started: fresh stores, and the target each history applies to. */
export interface VariantRuntime {
  readonly openStore: () => Promise<CampaignStore>;
  readonly makeTarget: (store: CampaignStore) => Promise<CampaignTarget>;
  close(): Promise<void>;
}

/** Starts what `variant` needs for its histories (on PostgreSQL, the campaign's own server). */
export async function startVariant(variant: CampaignVariant): Promise<VariantRuntime> {
  const databases = await campaignDatabases(variant.backend);
  const scratch = (name: string) => mkdtempSync(path.join(tmpdir(), `jml-campaign-${name}-`));
  const makeTarget = (() => {
    if (variant.workers === 'processes') {
      return variant.openldap
        ? (store: CampaignStore) => directoryProcessTarget(store, store.databaseUrl!, scratch('workers'))
        : (store: CampaignStore) => processTarget(store, store.databaseUrl!, scratch('workers'));
    }
    return variant.openldap ? (store: CampaignStore) => directoryTarget(store, scratch('dir')) : async () => inProcessTarget();
  })();
  return { openStore: () => databases.open(), makeTarget, close: () => databases.close() };
}

/** `startVariant`, put off until a history needs it (with --parallel the parent runs histories only to shrink a failure). */
export function lazyVariant(variant: CampaignVariant): VariantRuntime {
  let runtime: Promise<VariantRuntime> | null = null;
  const started = () => (runtime ??= startVariant(variant));
  return {
    openStore: async () => (await started()).openStore(),
    makeTarget: async (store) => (await started()).makeTarget(store),
    close: async () => {
      if (runtime) await (await runtime).close();
    },
  };
}
