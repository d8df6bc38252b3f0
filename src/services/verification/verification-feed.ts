import type { Principal } from '../../auth/principal';
import { InvalidInputError } from '../../domain/errors';
import { requireRole } from '../shared/access';
import { pageSize, parseSequence } from '../shared/pagination';
import type { VerificationRequestRow, VerificationRequestStatus } from '../evidence/verification-requests';
import type { VerificationService } from './verification.service';

/** How the verification stream reads the outbox. */
export interface VerificationFeedSettings {
  /**
   * How long an idle stream waits before it reads again (config.ingest.schedulerPollMs: the
   * scheduler's poll, which decides the alerts whose requests appear here, scaled by CLOCK_SPEED).
   */
  readonly pollMs: number;
  /** Most requests one read returns. */
  readonly page: number;
}

/** A sequence cursor: a non-negative integer of at most 19 digits that fits a bigint column. */
export function parseVerificationCursor(value: string, field: string): string {
  return parseSequence(value, field, 'a verification sequence');
}

/**
 * The DSP adapter's view of the verification outbox (OPERATOR only, on every transport): pages
 * in sequence order, and a stream that replays after a cursor and then follows new requests.
 *
 * The outbox table is the only source of truth: requests are written by the decision
 * transactions (VerificationOutbox) under the sequence lock, so sequences commit in order and a
 * read after `s` never skips one that commits later. A stream therefore needs no notification to
 * be correct; it re-reads every `pollMs` while idle. A reader is woken early only by its own end
 * (unsubscribe, a closed socket, server shutdown), so closing never waits for a poll.
 */
export class VerificationFeed {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly verification: VerificationService,
    private readonly settings: VerificationFeedSettings,
  ) {}

  /**
   * Requests after `after` (default: from the start), at most `first`, in sequence order; with
   * `status`, only those that stand there now. SKIPPED requests were never sent and have no
   * sequence, so they are not in the stream: asking for them is refused rather than answered
   * with an empty list (operatorStatus counts them).
   */
  async page(
    principal: Principal,
    after: string | null | undefined,
    first: number | null | undefined,
    status: VerificationRequestStatus | null | undefined = null,
  ): Promise<VerificationRequestRow[]> {
    requireRole(principal, 'OPERATOR');
    const cursor = after === null || after === undefined ? '0' : parseVerificationCursor(after, 'after');
    if (status === 'SKIPPED') {
      throw new InvalidInputError(
        'SKIPPED_NOT_IN_STREAM',
        'SKIPPED requests were never sent and have no sequence: operatorStatus counts them',
        'status',
      );
    }
    return this.verification.readAfter(cursor, pageSize(first, 100), status ?? null);
  }

  /**
   * Every request after `after` (default: the current head, so only new ones), then new ones as
   * they commit, in sequence order with no gap and no duplicate. Access and the cursor are
   * checked before the first read.
   */
  async stream(
    principal: Principal,
    after: string | null | undefined,
  ): Promise<AsyncIterableIterator<VerificationRequestRow>> {
    requireRole(principal, 'OPERATOR');
    let cursor =
      after === null || after === undefined
        ? await this.verification.head()
        : parseVerificationCursor(after, 'after');
    let buffer: readonly VerificationRequestRow[] = [];
    let next = 0;
    let closed = false;
    let wakeUp: (() => void) | null = null;
    const close = () => {
      if (closed) return;
      closed = true;
      this.open.delete(close);
      wakeUp?.();
    };
    this.open.add(close);
    const sleep = () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.settings.pollMs);
        function done() {
          clearTimeout(timer);
          wakeUp = null;
          resolve();
        }
        wakeUp = done;
      });
    // An explicit iterator rather than an async generator: a generator cannot be interrupted
    // while it awaits, so return() would wait out the poll; this one ends a wait at once.
    const iterator: AsyncIterableIterator<VerificationRequestRow> = {
      next: async () => {
        while (!closed) {
          if (next < buffer.length) return { value: buffer[next++], done: false };
          let rows: VerificationRequestRow[];
          try {
            rows = await this.verification.readAfter(cursor, this.settings.page);
          } catch (error) {
            // Nobody calls return() after a rejected next(): end the stream here.
            close();
            throw error;
          }
          if (rows.length) {
            buffer = rows;
            next = 0;
            cursor = rows[rows.length - 1].sequence!;
            continue;
          }
          if (!closed) await sleep();
        }
        return { value: undefined, done: true };
      },
      return: () => {
        close();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error?: unknown) => {
        close();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** Streams open on this instance (tests, metrics). */
  get openStreams(): number {
    return this.open.size;
  }

  /** Ends every open stream (shutdown); their clients resume elsewhere with their last sequence. */
  closeAll(): void {
    for (const close of [...this.open]) close();
  }
}
