/**
 * A tiny progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise
 * (CI logs, files).
 */
export interface Progress {
  update(done: number, total: number, phase: string): void;
  done(message?: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, width = 30): Progress {
  const tty = !!stream.isTTY;
  let lastPhase = '';
  let lastDecile = -1;
  let lastDraw = 0;
  const started = Date.now();
  return {
    update(done, total, phase) {
      const share = total > 0 ? Math.min(1, done / total) : 1;
      if (phase !== lastPhase) {
        if (tty && lastPhase) stream.write('\n');
        lastPhase = phase;
        lastDecile = -1;
      }
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      const text = `${phase.padEnd(9)} ${Math.round(share * 100)
        .toString()
        .padStart(3)}% ${done}/${total} (${elapsed} s)`;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        const filled = Math.round(share * width);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      } else {
        const decile = Math.floor(share * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          stream.write(`${text}\n`);
        }
      }
    },
    done(message) {
      if (tty && lastPhase) stream.write('\n');
      if (message) stream.write(`${message}\n`);
    },
  };
}
