import type { AlertEntity } from '../../src/entities';
import { CurrentAlerts, alertIdsOf, pairedIdOf } from '../../src/services/delivery/current-alerts';
import type { AlertNow } from '../../src/services/delivery/current-alerts';

/**
 * The per-DNO cache of alert states that a stream's subscribers share: one read serves every
 * subscriber while it is fresh, stale states are read again in one batch, and asks from several
 * subscribers in the same tick are one read.
 */
class FakeAlerts {
  readonly revisions = new Map<string, number>();
  readonly batches: string[][] = [];

  read = async (ids: readonly string[]): Promise<Map<string, AlertNow>> => {
    this.batches.push([...ids]);
    await Promise.resolve();
    const found = new Map<string, AlertNow>();
    for (const id of ids) {
      const revision = this.revisions.get(id);
      if (revision !== undefined) found.set(id, { alert: { id, revision } as AlertEntity });
    }
    return found;
  };
}

function setup(freshMs = 1_000) {
  const db = new FakeAlerts();
  let clock = 0;
  const current = new CurrentAlerts(db.read, { freshMs, capacity: 5, now: () => clock });
  return { db, current, advance: (ms: number) => (clock += ms) };
}

const state = (id: string, revision: number): AlertNow => ({ alert: { id, revision } as AlertEntity });

describe('CurrentAlerts', () => {
  test('a state put with its page serves every later ask while fresh; a stale one is read again', async () => {
    const { db, current, advance } = setup();
    current.put(new Map([['1', state('1', 1)]]), 0);
    db.revisions.set('1', 2);
    advance(999);
    expect((await current.get(['1'])).get('1')?.alert.revision).toBe(1);
    expect(db.batches).toHaveLength(0);
    advance(2);
    expect(current.peek('1')).toBeUndefined();
    expect((await current.get(['1'])).get('1')?.alert.revision).toBe(2);
    expect(db.batches).toEqual([['1']]);
  });

  test('asks of several subscribers in one tick are one read, each ID once', async () => {
    const { db, current } = setup();
    for (const id of ['1', '2', '3']) db.revisions.set(id, 1);
    const results = await Promise.all([
      current.get(['1', '2']),
      current.get(['2', '3']),
      current.get(['1', '3']),
    ]);
    expect(db.batches).toEqual([['1', '2', '3']]);
    expect(results.map((r) => [...r.keys()].sort())).toEqual([
      ['1', '2'],
      ['2', '3'],
      ['1', '3'],
    ]);
  });

  test('an alert no longer on record is null, and no older state replaces that', async () => {
    const { db, current } = setup();
    expect((await current.get(['9'])).get('9')).toBeNull();
    current.put(new Map([['9', state('9', 3)]]), 1);
    expect(current.peek('9')).toBeNull();
    expect(db.batches).toHaveLength(1);
  });

  test('a failed read rejects the ask and remembers nothing', async () => {
    const failing = new CurrentAlerts(
      async () => {
        throw new Error('database away');
      },
      { freshMs: 1_000, capacity: 5, now: () => 0 },
    );
    await expect(failing.get(['1'])).rejects.toThrow('database away');
    expect(failing.peek('1')).toBeUndefined();
  });

  test('memory stays within capacity, the oldest states going first', () => {
    const { current, advance } = setup();
    for (let i = 1; i <= 8; i++) {
      current.put(new Map([[String(i), state(String(i), 1)]]), i);
      advance(1);
    }
    expect(current.peek('1')).toBeUndefined();
    expect(current.peek('3')).toBeUndefined();
    expect(current.peek('4')?.alert.id).toBe('4');
    expect(current.peek('8')?.alert.id).toBe('8');
  });

  test('an older revision never replaces a newer one, whenever its read finishes', () => {
    const { current } = setup();
    current.put(new Map([['1', state('1', 2)]]), 0);
    current.put(new Map([['1', state('1', 1)]]), 5);
    expect(current.peek('1')?.alert.revision).toBe(2);
  });

  test('the same revision read again keeps its serial: events that show it share', () => {
    const { current, advance } = setup();
    current.put(new Map([['1', state('1', 1)]]), 0);
    const serial = current.serialOf('1');
    advance(900);
    current.put(new Map([['1', state('1', 1)]]), 900);
    advance(900);
    expect(current.serialOf('1')).toBe(serial);
    current.put(new Map([['1', state('1', 2)]]), 1800);
    expect(current.serialOf('1')).not.toBe(serial);
  });

  test('the alerts a message shows: its own, and the one it pairs with', () => {
    const message = (kind: string, id: string, paired: string | null) => ({
      kind,
      payload: { alert: { id }, pairedAlertId: paired },
    });
    expect(alertIdsOf(message('AD1', '1', null))).toEqual(['1']);
    expect(alertIdsOf(message('OTA_INDUCED', '1', null))).toEqual(['1']);
    expect(pairedIdOf(message('OTA_INDUCED', '1', null))).toBe('1');
    expect(alertIdsOf(message('SUPPLY_RESTORED', '2', '1'))).toEqual(['2', '1']);
  });
});

describe('CurrentAlerts.forget', () => {
  test('a decision here hides older states at once; a read begun before it cannot bring one back', async () => {
    const db = new FakeAlerts();
    let release: () => void = () => undefined;
    let gate: Promise<void> | null = null;
    const current = new CurrentAlerts(
      async (ids) => {
        const snapshot = await db.read(ids);
        if (gate) await gate;
        return snapshot;
      },
      { freshMs: 1_000, capacity: 10, now: () => 0 },
    );
    current.put(new Map([['1', state('1', 1)]]), 0);
    db.revisions.set('1', 1);
    // A read that saw revision 1 is in flight when revision 2 is decided here.
    current.forget('1', 1);
    expect(current.peek('1')?.alert.revision).toBe(1);
    gate = new Promise<void>((r) => (release = r));
    const before = current.get(['2']).then(() => current.put(new Map([['1', state('1', 1)]]), 0));
    await new Promise((r) => setImmediate(r));
    db.revisions.set('1', 2);
    current.forget('1', 2);
    expect(current.peek('1')).toBeUndefined();
    release();
    await before;
    expect(current.peek('1')).toBeUndefined();
    gate = null;
    expect((await current.get(['1'])).get('1')?.alert.revision).toBe(2);
  });
});
