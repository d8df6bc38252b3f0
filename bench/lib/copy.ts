import type { Client, PoolClient } from 'pg';

/**
 * COPY ... FROM STDIN over pg's own connection, without pg-copy-streams: a Submittable whose
 * submit() sends the COPY statement, and which answers the server's CopyInResponse by sending
 * the whole payload as CopyData and then CopyDone. pg calls these hooks on the active query.
 */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyFromStdin {
  private error: Error | null = null;
  rowCount = 0;
  private done!: (error: Error | null, rowCount: number) => void;
  readonly finished: Promise<number>;

  constructor(
    private readonly text: string,
    private readonly data: Buffer,
  ) {
    this.finished = new Promise<number>((resolve, reject) => {
      this.done = (error, rowCount) => (error ? reject(error) : resolve(rowCount));
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    // CopyData messages are limited only by the 1 GB message size; chunk at 1 MiB anyway.
    const CHUNK = 1 << 20;
    for (let at = 0; at < this.data.length; at += CHUNK) {
      connection.sendCopyFromChunk(this.data.subarray(at, at + CHUNK));
    }
    connection.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    this.done(this.error, this.rowCount);
  }

  // Not expected for COPY FROM; present because pg may call them on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

/** Runs `COPY table (columns) FROM STDIN` with rows already in COPY text format. */
export async function copyFrom(
  client: Client | PoolClient,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<number> {
  const text = `COPY ${table} (${columns.join(', ')}) FROM STDIN`;
  const body = Buffer.from(
    rows.map((r) => r.map(copyField).join('\t')).join('\n') + (rows.length ? '\n' : ''),
  );
  const submittable = new CopyFromStdin(text, body);
  void client.query(submittable as never);
  return submittable.finished;
}

export type CopyValue = string | number | boolean | Date | null;

/** One field in COPY text format: \N for NULL; backslash, tab, newline and CR escaped. */
export function copyField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const s = String(value);
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}
