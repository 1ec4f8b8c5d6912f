/** Writes the empty PGlite cluster new data directories start from (src/store/pglite-cluster.ts); run after upgrading PGlite. */
import path from 'node:path';
import { writePrebuiltCluster } from '../src/store/pglite-cluster.ts';

const file = await writePrebuiltCluster();
console.log(`wrote ${path.relative(process.cwd(), file)}`);
