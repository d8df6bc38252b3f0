import { CommanderError } from 'commander';
import { DomainError } from '../src/domain/errors';
import { PayloadArgsError, payloadFromArgs, payloadUsage } from '../test/support/duis-payload-args';

/**
 * Prints a DUIS or MMC document for a demo device, for POST /duis (docs/DSP-ADAPTER.md):
 *   npm run -s duis:payload -- --kind ad1 --device 00-DB-C4-00-00-00-02-01
 *   npm run -s duis:payload -- --kind sr11.3 --device 00-DB-E5-00-00-00-02-01 --at 2026-12-07T10:00:00Z
 *   npm run -s duis:payload -- --kind sr11.2-response --request-id <from verificationRequests>
 * Times default to now; request and alert counters are epoch milliseconds, as in DCC's samples.
 */
try {
  process.stdout.write(payloadFromArgs(process.argv.slice(2), new Date()));
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the help or the mistake already.
    process.exitCode = error.exitCode;
  } else if (error instanceof PayloadArgsError || error instanceof DomainError) {
    process.stderr.write(`${error.message}\n\n${payloadUsage()}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
