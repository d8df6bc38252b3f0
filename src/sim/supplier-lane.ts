/**
 * Live mode's supplier traffic. Suppliers and DCC's DSP are different parties: a supplier's
 * SR11.3 submissions do not wait for the DSP's alerts, nor the alerts for them. Sent one after
 * another on one line with the alerts, a campaign of thousands of SR11.3 held every AD1 behind it:
 * at 100x the simulator fell hours of scenario time behind, genuine AD1s reached the server hours
 * after they started, and every clock bound learned from them was hours wide (docs/SIMULATOR.md).
 *
 * Here each supplier request runs after every earlier request for the same meter (a cancel or a
 * claim never overtakes its SR11.3), with at most `concurrency` in flight. The DSP's events of an
 * activation whose SR11.3 is still unacknowledged wait for it (`pending`): its acknowledgement
 * says when the server received it, and so how far the activation's device facts move
 * (live-causality.ts).
 */
export class SupplierLane {
  private readonly byMeter = new Map<string, Promise<void>>();
  private readonly schedules = new Map<number, Promise<void>>();
  private readonly running = new Set<Promise<void>>();
  private readonly queue: (() => void)[] = [];
  private inFlight = 0;

  constructor(private readonly concurrency: number) {}

  /**
   * Sends `send` after the meter's earlier requests, when a place is free. A SCHEDULE is pending
   * for its activation until it ends. `send` must not reject (it records its own errors).
   */
  submit(
    request: { readonly kind: string; readonly activation: number; readonly esmeGuid: string },
    send: () => Promise<void>,
  ): void {
    const previous = this.byMeter.get(request.esmeGuid) ?? Promise.resolve();
    const task = previous.then(() => this.limited(send));
    this.byMeter.set(request.esmeGuid, task);
    this.running.add(task);
    if (request.kind === 'SCHEDULE') this.schedules.set(request.activation, task);
    void task.finally(() => {
      this.running.delete(task);
      if (this.byMeter.get(request.esmeGuid) === task) this.byMeter.delete(request.esmeGuid);
      if (this.schedules.get(request.activation) === task) this.schedules.delete(request.activation);
    });
  }

  /** The SR11.3 of `activation` still out, if it is. */
  pending(activation: number | undefined): Promise<void> | undefined {
    return activation === undefined ? undefined : this.schedules.get(activation);
  }

  /** Resolves once every request submitted so far has ended. */
  async drain(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  private async limited(send: () => Promise<void>): Promise<void> {
    if (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.inFlight++;
    try {
      await send();
    } finally {
      this.inFlight--;
      this.queue.shift()?.();
    }
  }
}
