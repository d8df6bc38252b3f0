import type { EngineSettings } from '../../../src/domain/engine';
import {
  DECISION_REASONS,
  DEFAULT_ENGINE_SETTINGS,
  validateEngineSettings,
} from '../../../src/domain/engine';
import { InvalidInputError } from '../../../src/domain/errors';

describe('engine settings', () => {
  it('defaults follow the product: window 30 min, skew 2 min', () => {
    expect(DEFAULT_ENGINE_SETTINGS).toMatchObject({
      windowMinutes: 30,
      skewMinutes: 2,
      clusterSize: 3,
      clusterMinutes: 10,
    });
    expect(validateEngineSettings(DEFAULT_ENGINE_SETTINGS)).toBe(DEFAULT_ENGINE_SETTINGS);
  });

  it.each<[string, Partial<EngineSettings>]>([
    ['windowMinutes', { windowMinutes: 0 }],
    ['skewMinutes', { skewMinutes: -1 }],
    ['holdMinutes', { holdMinutes: Number.NaN }],
    ['outcomeBoundMinutes', { outcomeBoundMinutes: 0 }],
    ['clusterSize', { clusterSize: 1.5 }],
    ['clusterMinutes', { clusterMinutes: -3 }],
    ['budget.maxShare', { budget: { ...DEFAULT_ENGINE_SETTINGS.budget, maxShare: 1.2 } }],
    ['budget.windowMinutes', { budget: { ...DEFAULT_ENGINE_SETTINGS.budget, windowMinutes: 0 } }],
  ])('rejects a bad %s with BAD_USER_INPUT', (field, change) => {
    let error: unknown;
    try {
      validateEngineSettings({ ...DEFAULT_ENGINE_SETTINGS, ...change });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_ENGINE_SETTING', field });
  });

  it('reason codes are unique', () => {
    expect(new Set(DECISION_REASONS).size).toBe(DECISION_REASONS.length);
  });
});
