/**
 * Progress on a terminal, silence elsewhere: a single line on stderr,
 * redrawn at most every 100 ms, cleared when done. Never with --json.
 */
export interface Progress {
  update(phase: string, done: number, total: number): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream & { isTTY?: boolean }, enabled: boolean): Progress {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  return {
    update(phase, done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const bar = '█'.repeat(Math.round(ratio * width)).padEnd(width, '░');
      stream.write(`\r\x1b[2K${bar} ${phase}${total > 1 ? ` ${done}/${total}` : ''}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
