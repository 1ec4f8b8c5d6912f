/**
 * Backups taken by a running `jml serve` on the embedded database, which holds
 * the data directory's lock and so is the only process that can snapshot it:
 * on SIGUSR2 (`systemctl kill -s USR2 jml`) and every `everyHours`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Store } from '../../store/open-store.ts';
import { backupStore } from './store-backup.ts';

export interface BackupSchedule {
  /** Stops the timer and the signal handler, after a backup in progress has been written. */
  stop(): Promise<void>;
}

/** The file name of a backup taken at `now`: sortable, no characters a shell or Windows minds. */
export function backupFileName(now: Date): string {
  return `jml-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}.zip`;
}

/**
 * Writes `jml-<UTC time>.zip` into `dir` on SIGUSR2 and every `everyHours`
 * (0: on the signal only). A trigger while a backup runs is skipped; a failed
 * backup is logged and the server goes on.
 * @example const schedule = scheduleBackups(store, { dir: '/var/backups/jml', everyHours: 24, log: console.log, now: () => new Date() });
 */
export function scheduleBackups(store: Store, options: { readonly dir: string; readonly everyHours: number; readonly log: (line: string) => void; readonly now: () => Date }): BackupSchedule {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  let running: Promise<void> | null = null;
  const take = () => {
    if (running) return;
    const file = path.join(options.dir, backupFileName(options.now()));
    running = backupStore(store, file, options.now())
      .then((m) => options.log(`Backed up to ${file}: audit head entry ${m.audit.entries} ${m.audit.headHash}`))
      .catch((error: Error) => options.log(`Backup to ${file} FAILED: ${error.message}`))
      .finally(() => (running = null));
  };
  process.on('SIGUSR2', take);
  const timer = options.everyHours > 0 ? setInterval(take, options.everyHours * 3_600_000) : null;
  timer?.unref();
  return {
    async stop() {
      process.off('SIGUSR2', take);
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
