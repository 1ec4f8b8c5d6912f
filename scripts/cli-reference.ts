/** Writes docs/cli.md from the commands' own help (`npm run docs:cli`). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliReference } from '../src/cli/cli-reference.ts';

const target = path.join(import.meta.dirname, '..', 'docs', 'cli.md');
writeFileSync(target, cliReference());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
