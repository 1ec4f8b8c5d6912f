/**
 * An empty PGlite cluster as initdb leaves it, shipped with jml so that a new
 * data directory starts from it instead of running initdb. PGlite's initdb
 * runs PostgreSQL several times over a copy of its whole WebAssembly heap:
 * measured on a busy 2-core machine, 9.7 s and 648 MiB peak RSS, against 3.0 s
 * and 378 MiB to unpack this 4.5 MB tarball. The file is named by the PGlite
 * version that made it; when PGlite is upgraded and no file matches, new data
 * directories run initdb as before (and a test says to regenerate it:
 * `node scripts/pglite-cluster.ts`). Migrations run on top, as on any directory.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The installed PGlite's version, e.g. `0.5.16`. */
export function pgliteVersion(): string {
  const wasm = new URL(import.meta.resolve('@electric-sql/pglite/pglite.wasm'));
  return (JSON.parse(readFileSync(new URL('../package.json', wasm), 'utf8')) as { version: string }).version;
}

/** Where the cluster for the installed PGlite lives (beside this module, in src/ and dist/ alike). */
export function prebuiltClusterFile(): string {
  return path.join(import.meta.dirname, `pglite-cluster-${pgliteVersion()}.tar.gz`);
}

/** The shipped cluster for the installed PGlite, or undefined when there is none (then PGlite runs initdb). */
export function prebuiltCluster(): Blob | undefined {
  const file = prebuiltClusterFile();
  return existsSync(file) ? new Blob([readFileSync(file)]) : undefined;
}

/**
 * Runs initdb in memory and writes the cluster for the installed PGlite.
 * @example await writePrebuiltCluster() // scripts/pglite-cluster.ts, after upgrading PGlite
 */
export async function writePrebuiltCluster(): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create('memory://');
  try {
    const dump = await pglite.dumpDataDir('gzip');
    const file = prebuiltClusterFile();
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    return file;
  } finally {
    await pglite.close();
  }
}
