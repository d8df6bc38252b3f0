import { acceleratedClock, clockFromSettings, systemClock } from '../../src/clock';
import { ConfigError, loadConfig } from '../../src/config';

describe('service clock', () => {
  test('an accelerated clock starts at its start and runs speed times real time', () => {
    let real = 0;
    const clock = acceleratedClock(new Date('2026-03-02T00:00:00Z'), 600, () => real);
    expect(clock.now().toISOString()).toBe('2026-03-02T00:00:00.000Z');
    real = 1000; // one real second is ten minutes
    expect(clock.now().toISOString()).toBe('2026-03-02T00:10:00.000Z');
    real = 1000.5;
    expect(clock.now().toISOString()).toBe('2026-03-02T00:10:00.300Z');
    expect(clock.speed).toBe(600);
  });

  test('an accelerated clock with the real elapsed time moves forward', async () => {
    const clock = acceleratedClock(new Date('2026-03-02T00:00:00Z'), 1000);
    const a = clock.now().getTime();
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now().getTime() - a).toBeGreaterThanOrEqual(15_000);
  });

  test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('speed %p is refused', (speed) => {
    expect(() => acceleratedClock(new Date(), speed)).toThrow(RangeError);
  });

  test('the settings give the wall clock unless a speed or a start is set', () => {
    expect(clockFromSettings({ speed: 1 })).toBe(systemClock);
    const started = clockFromSettings({ speed: 1, start: new Date('2020-01-01T00:00:00Z') });
    expect(started).not.toBe(systemClock);
    expect(started.now().getTime()).toBeLessThan(Date.parse('2020-01-02T00:00:00Z'));
    expect(clockFromSettings({ speed: 50 }).speed).toBe(50);
  });
});

describe('CLOCK_SPEED and CLOCK_START settings', () => {
  test('default: the wall clock and a 1 s timer poll', () => {
    const c = loadConfig({});
    expect(c.clock).toEqual({ speed: 1, start: undefined });
    expect(c.ingest.schedulerPollMs).toBe(1000);
  });

  test('an accelerated clock polls for due timers as often as a clock second passes (10 ms at least)', () => {
    const c = loadConfig({ CLOCK_SPEED: '60', CLOCK_START: '2026-03-02T00:00:00Z' });
    expect(c.clock).toEqual({ speed: 60, start: new Date('2026-03-02T00:00:00Z') });
    expect(c.ingest.schedulerPollMs).toBe(17);
    expect(loadConfig({ CLOCK_SPEED: '3600' }).ingest.schedulerPollMs).toBe(10);
    expect(loadConfig({ CLOCK_SPEED: '3600', SCHEDULER_POLL_MS: '250' }).ingest.schedulerPollMs).toBe(250);
  });

  test.each([
    [{ CLOCK_SPEED: '0.5' }, 'CLOCK_SPEED'],
    [{ CLOCK_SPEED: 'fast' }, 'CLOCK_SPEED'],
    [{ CLOCK_START: 'yesterday' }, 'CLOCK_START'],
    [{ NODE_ENV: 'production', CLOCK_SPEED: '600' }, 'refused when NODE_ENV=production'],
    [{ NODE_ENV: 'production', CLOCK_START: '2026-03-02T00:00:00Z' }, 'refused when NODE_ENV=production'],
  ])('%j fails naming %s', (env, named) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(named);
  });
});
