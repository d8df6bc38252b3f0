import { percentile } from './scoreboard';
import type { Scenario, SimEvent } from './scenario';

/**
 * Live mode's causality under lag. The simulator sends events when the server's clock reaches
 * them; when a request is late, an SR11.3 reaches the server later than its
 * scenario time, and the server records it as submitted then. In reality an activation never
 * executes before its request reaches DCC: an immediate one runs that much later, a future-dated
 * one whose request arrived after its requested time runs on arrival. A future-dated request the
 * simulator can only send after its requested time keeps its lead time instead (its requested
 * time moves by the lag: the server would refuse a time in the past). So once the server has
 * acknowledged an SR11.3 (and said when it received it), every later device fact of that
 * activation moves by the lag that delayed the request: the outcome's and the claim's executedAt
 * and arrival, the AD1s of the cut it causes (StartDateTime and arrival), and the AD1s and
 * restores of a genuine outage the scenario places relative to its execution (a coincident
 * outage minutes later: left behind, it would seem to start before the activation ran). Those events are
 * then sent at their moved time, after whatever falls due before it. The caller sends no event
 * of an activation (`ownerOf`) while its SR11.3 is unacknowledged (supplier-lane.ts), so every
 * shift is known before the events it moves are sent. Pure bookkeeping: the caller sends.
 */

const SECOND = 1000;

type ScheduleEvent = Extract<SimEvent, { kind: 'SCHEDULE' }>;

interface Queued {
  readonly due: number;
  readonly seq: number;
  readonly event: SimEvent;
}

export interface CausalityReport {
  /** SR11.3 requests acknowledged, and how late the server received them (scenario seconds). */
  readonly requests: number;
  /** Future-dated requests sent after their requested time, whose requested time moved. */
  readonly movedRequests: number;
  readonly requestLagSeconds: { p50: number; p99: number; max: number };
  /** Activations whose device times moved, by how much, and the events moved with them. */
  readonly shiftedActivations: number;
  readonly shiftSeconds: { p50: number; p99: number; max: number };
  readonly shiftedEvents: number;
}

export class CausalQueue {
  private cursor = 0;
  private readonly heap: Queued[] = [];
  private readonly shifts = new Map<number, number>();
  /** How far a late future-dated request's requested time was moved, by activation. */
  private readonly moves = new Map<number, number>();
  private readonly requestLags: number[] = [];
  private shiftedEvents = 0;
  private parked = 0;
  /**
   * AD1 key to the activation its outage is placed by: the OTA cut it caused, or a genuine outage
   * the scenario places minutes after it (coincident premises, a feeder in its window).
   */
  private readonly ad1Owner = new Map<string, number>();
  /** Outage ID to that activation, for the restores of such a genuine outage. */
  private readonly outageOwner = new Map<string, number>();

  constructor(
    private readonly events: readonly SimEvent[],
    scenario: Pick<Scenario, 'ad1s' | 'outages'>,
  ) {
    const outages = new Map(scenario.outages.map((o) => [o.id, o]));
    for (const o of scenario.outages) if (o.activation !== null) this.outageOwner.set(o.id, o.activation);
    for (const a of scenario.ad1s) {
      const o = outages.get(a.outageId);
      if (o && o.activation !== null) this.ad1Owner.set(a.key, o.activation);
    }
  }

  get done(): number {
    return this.cursor - this.heap.length - this.parked;
  }

  /** Events taken out of line by park() and not yet back. */
  get parkedCount(): number {
    return this.parked;
  }

  /** The next event to send and the scenario time it is due, without taking it. */
  peek(): Queued | undefined {
    for (;;) {
      const head = this.events[this.cursor] as SimEvent | undefined;
      const shift = head ? this.shiftOf(head) : 0;
      if (head && shift > 0) {
        // Its activation's request came late: it goes back in line at its moved time.
        this.cursor++;
        this.shiftedEvents++;
        this.push({ due: head.at + shift, seq: head.seq, event: moved(head, shift) });
        continue;
      }
      const top = this.heap[0];
      if (!head) return top;
      if (top && (top.due < head.at || (top.due === head.at && top.seq < head.seq))) return top;
      return { due: head.at, seq: head.seq, event: head };
    }
  }

  /** Takes the event peek() returned. */
  take(): Queued | undefined {
    const next = this.peek();
    if (!next) return undefined;
    if (this.heap[0] === next) this.pop();
    else this.cursor++;
    return next;
  }

  /**
   * Takes the event peek() returned out of line until `until` (its owner's SR11.3
   * acknowledgement) settles, so that the events of other meters go on meanwhile; then it goes
   * back in line, moved as that acknowledgement says. The returned promise settles once it is back.
   */
  park(until: Promise<void>): Promise<void> {
    const q = this.take();
    if (!q) throw new Error('nothing to park');
    this.parked++;
    return until.then(() => {
      this.parked--;
      const shift = this.shiftOf(q.event);
      if (shift > 0) this.shiftedEvents++;
      this.push(shift > 0 ? { due: q.event.at + shift, seq: q.seq, event: moved(q.event, shift) } : q);
    });
  }

  /**
   * The SR11.3 to send at `sendAt` (scenario time): as it is, unless it is future-dated and its
   * requested time has already passed; then its requested time moves by the lag (whole seconds),
   * so that it keeps the lead time the supplier gave it.
   */
  prepareRequest(e: ScheduleEvent, sendAt: number): ScheduleEvent {
    if (e.executeAt === null || sendAt < e.executeAt) return e;
    const move = Math.ceil((sendAt - e.at) / SECOND) * SECOND;
    this.moves.set(e.activation, move);
    return { ...e, executeAt: e.executeAt + move };
  }

  /**
   * The server acknowledged an SR11.3 (`e` as sent, after prepareRequest) and says it received
   * it at `receivedAt` (scenario time): from now on the activation's device facts move by how
   * much later it can have executed: the move of its requested time, plus the time by which the
   * request reached the server after it was due to run (immediate: after its scenario time).
   */
  requestReceived(e: ScheduleEvent, receivedAt: number): void {
    const lag = receivedAt - e.at;
    this.requestLags.push(Math.max(0, lag) / SECOND);
    const late = Math.max(0, e.executeAt === null ? lag : receivedAt - e.executeAt);
    const shift = (this.moves.get(e.activation) ?? 0) + late;
    // Whole seconds, so whole-second device times (StartDateTime) stay whole.
    if (shift > 0) this.shifts.set(e.activation, Math.ceil(shift / SECOND) * SECOND);
  }

  report(): CausalityReport {
    const lags = [...this.requestLags].sort((x, y) => x - y);
    const shifts = [...this.shifts.values()].map((s) => s / SECOND).sort((x, y) => x - y);
    const stats = (xs: number[]) => ({
      p50: percentile(xs, 0.5),
      p99: percentile(xs, 0.99),
      max: xs.length ? xs[xs.length - 1] : 0,
    });
    return {
      requests: lags.length,
      movedRequests: this.moves.size,
      requestLagSeconds: stats(lags),
      shiftedActivations: shifts.length,
      shiftSeconds: stats(shifts),
      shiftedEvents: this.shiftedEvents,
    };
  }

  /**
   * The activation whose SR11.3 places this event in time (an outcome or claim of it, the AD1s and
   * restores of an outage it causes or places), if any.
   */
  ownerOf(e: SimEvent): number | undefined {
    return e.kind === 'OUTCOME' || e.kind === 'CLAIM'
      ? e.activation
      : e.kind === 'AD1'
        ? this.ad1Owner.get(e.key)
        : e.kind === 'RESTORE'
          ? this.outageOwner.get(e.outageId)
          : undefined;
  }

  private shiftOf(e: SimEvent): number {
    const owner = this.ownerOf(e);
    return owner === undefined ? 0 : (this.shifts.get(owner) ?? 0);
  }

  private push(q: Queued): void {
    const h = this.heap;
    h.push(q);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

const before = (a: Queued, b: Queued) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/** The event with its device times and arrival moved by `shift` ms. */
export function moved(e: SimEvent, shift: number): SimEvent {
  switch (e.kind) {
    case 'OUTCOME':
    case 'CLAIM':
      return { ...e, at: e.at + shift, executedAt: e.executedAt + shift };
    case 'AD1':
      return { ...e, at: e.at + shift, startAt: e.startAt + shift };
    case 'RESTORE':
      return {
        ...e,
        at: e.at + shift,
        interruptionAt: e.interruptionAt + shift,
        restorationAt: e.restorationAt + shift,
      };
    default:
      return e;
  }
}
