/**
 * Writes docs/cli.md from the commands' own help, and the directory the CLI
 * uses to load only the command it runs (`npm run docs:cli`).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandDirectorySource } from '../src/cli/command-directory-source.ts';
import { cliReference } from '../src/cli/cli-reference.ts';

const root = path.join(import.meta.dirname, '..');
for (const [target, text] of [
  [path.join(root, 'docs', 'cli.md'), cliReference()],
  [path.join(root, 'src', 'cli', 'commands', 'command-directory.ts'), await commandDirectorySource()],
] as const) {
  writeFileSync(target, text);
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
