import type { ScenarioOptions } from './scenario';

/**
 * Live mode (driving a running server over HTTP and graphql-ws like a DSP and several DNOs) is
 * not implemented yet. The options are accepted so the CLI contract is stable.
 */
export interface LiveOptions {
  readonly url: string;
  readonly tokenSecret: string;
  readonly speed: number;
  readonly out: string;
  readonly onProgress?: (done: number, total: number, phase: string) => void;
}

export function runLiveSimulation(
  _options: Partial<ScenarioOptions>,
  _live: LiveOptions,
): Promise<{ table: string; files: string[] }> {
  return Promise.reject(
    new Error('live mode is not implemented yet: use --mode replay (see docs/readme/simulator.md)'),
  );
}
