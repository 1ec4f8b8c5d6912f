/**
 * Loads the demo organisation through the real import path: HR, vendor and
 * non-human inventory files written to `<data dir>/demo/`, then imported as
 * of today. A second run finds the demo loaded and imports nothing again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { dateIn } from '../engine/org-calendar.ts';
import type { Database } from '../store/database.ts';
import type { JmlConfig } from './config.ts';
import { demoFiles } from './demo-data.ts';
import { importAssets } from './asset-register.ts';
import { importSource, type ImportResult } from './import-source.ts';

export interface DemoLoad {
  readonly loaded: boolean;
  readonly directory: string;
  readonly imports: readonly ImportResult[];
}

const SOURCES = [
  ['hr', 'hr.csv'],
  ['vendor', 'vendor.csv'],
  ['nhi', 'nhi.yaml'],
] as const;

export async function loadDemo(deps: { readonly db: Kysely<Database>; readonly config: JmlConfig }, options: { readonly actor: string; readonly now?: Date; readonly people?: number }): Promise<DemoLoad> {
  const directory = path.resolve(deps.config.data_dir, 'demo');
  const already = await deps.db.selectFrom('identities').select('key').limit(1).execute();
  if (already.length > 0) return { loaded: false, directory, imports: [] };
  const now = options.now ?? new Date();
  const files = demoFiles(dateIn(now, deps.config.timezone), options.people);
  await mkdir(directory, { recursive: true });
  const imports: ImportResult[] = [];
  for (const [source, name] of SOURCES) {
    const file = path.join(directory, name);
    await writeFile(file, files[name]);
    imports.push(await importSource(deps, { source, file, actor: options.actor, now }));
  }
  // Equipment after the people: each asset's holder must be an identity.
  const assets = path.join(directory, 'assets.csv');
  await writeFile(assets, files['assets.csv']);
  await importAssets(deps.db, files['assets.csv'], { file: assets, actor: options.actor, now });
  return { loaded: true, directory, imports };
}
