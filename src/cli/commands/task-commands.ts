/**
 * `jml tasks`, `jml task done`, `jml task confirm`: the work people do for
 * systems jml cannot reach, closed only with evidence.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createTaskStore, taskEvidenceSchema, type Task, type TaskStatus } from '../../connectors/manual/task-store.ts';
import { JmlError } from '../../domain/errors.ts';
import { printJson, printLine, type CliContext } from '../cli-context.ts';
import { tableLines, type Column } from '../table-text.ts';

interface DoneFlags {
  readonly evidence: string;
  readonly note?: string;
  readonly file?: string;
  readonly by?: string;
  readonly at?: string;
  readonly json?: boolean;
}

const TASK_COLUMNS: readonly Column<Task>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'state', value: (t) => (t.status === 'done' && t.needsConfirmation ? 'done, awaiting confirmation' : t.status) },
  { header: 'due', value: (t) => t.dueAt },
  { header: 'system', value: (t) => t.system },
  { header: 'instruction', value: (t) => t.instruction },
];

export function registerTaskCommands(program: Command, ctx: CliContext): void {
  program
    .command('tasks')
    .description('tasks for people: changes in systems jml cannot reach')
    .option('--status <status>', 'open (default), done, confirmed or all', 'open')
    .option('--system <name>', 'only this system')
    .option('--json', 'print JSON')
    .action(async (flags: { status: string; system?: string; json?: boolean }) => {
      if (!['open', 'done', 'confirmed', 'all'].includes(flags.status)) throw new JmlError('invalid_input', `--status must be open, done, confirmed or all`);
      await ctx.withStore(async (store) => {
        const tasks = await createTaskStore({ db: store.db }).listTasks({
          ...(flags.status !== 'all' ? { status: flags.status as TaskStatus } : {}),
          ...(flags.system ? { system: flags.system } : {}),
        });
        if (flags.json) printJson(ctx, tasks);
        else if (tasks.length === 0) printLine(ctx, `no ${flags.status === 'all' ? '' : `${flags.status} `}tasks.`);
        else for (const line of tableLines(TASK_COLUMNS, tasks)) printLine(ctx, line);
      });
    });

  const task = program.command('task').description('close or confirm one task');
  task
    .command('done')
    .description('close a task with evidence of what was done')
    .argument('<id>', 'task id')
    .requiredOption('--evidence <text>', 'what proves it was done (ticket, console screenshot name, …)')
    .option('--note <text>', 'anything else worth recording')
    .option('--file <path>', 'a file that proves it; its SHA-256 is recorded')
    .option('--by <who>', 'who did it (default: you)')
    .option('--at <instant>', 'when it was done, ISO 8601 (default: now)')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, flags: DoneFlags) => {
      const fileSha256 = flags.file ? createHash('sha256').update(await readFile(flags.file)).digest('hex') : undefined;
      const parsed = taskEvidenceSchema.safeParse({
        doneBy: flags.by ?? ctx.actor,
        doneAt: flags.at ?? new Date().toISOString(),
        note: flags.note ? `${flags.evidence} — ${flags.note}` : flags.evidence,
        ...(fileSha256 ? { fileSha256 } : {}),
      });
      if (!parsed.success) throw new JmlError('invalid_input', parsed.error.issues.map((i) => `${i.path.join('.') || 'evidence'}: ${i.message}`).join('; '));
      await ctx.withStore(async (store) => {
        const closed = await createTaskStore({ db: store.db }).closeTask(id, parsed.data, ctx.actor);
        if (flags.json) printJson(ctx, closed);
        else printLine(ctx, `${closed.id} closed${closed.needsConfirmation ? '; a second person must confirm it: jml task confirm ' + closed.id : ''}`);
      });
    });

  task
    .command('confirm')
    .description('confirm, as a second person, a task someone else closed')
    .argument('<id>', 'task id')
    .option('--json', 'print the task as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      await ctx.withStore(async (store) => {
        const confirmed = await createTaskStore({ db: store.db }).confirmTask(id, ctx.actor);
        if (flags.json) printJson(ctx, confirmed);
        else printLine(ctx, `${confirmed.id} confirmed by ${confirmed.confirmedBy}`);
      });
    });
}
