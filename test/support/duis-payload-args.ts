import { Command, Option } from 'commander';
import { DEMO_AFFECTED, DEMO_IMAGE_HASH, DEMO_PREMISES, DEMO_SUPPLIER_ID } from '../../src/demo/seed';
import type { DemoPremises } from '../../src/demo/seed';
import { parseEui64, parseRequestId, parseUtcDateTime } from '../../src/domain/identifiers';
import {
  activateFirmwareRequest,
  activateFirmwareResponse,
  CANCELLATION_DATE,
  firmwareActivationAlert,
  powerOutageAlert,
  readFirmwareVersionResponse,
  readFirmwareVersionResponseMmc,
  supplyRestoredAlert,
} from './duis-payloads';

/**
 * `npm run duis:payload -- --kind <kind> --device <demo ESME or hub> [...]`: the command-line
 * arguments of scripts/duis-payload.ts turned into one document for a demo premises
 * (src/demo/seed.ts), built by test/support/duis-payloads.ts. Here rather than in the script so
 * test/e2e/dsp-adapter-doc.test.ts can check that each command in docs/DSP-ADAPTER.md prints the
 * document shown under it.
 */

export const PAYLOAD_KINDS = [
  'sr11.3',
  'sr11.3-response',
  '8f66',
  '8f67',
  'ad1',
  'restore',
  'sr11.2-response',
  'sr11.2-response-mmc',
] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

/** A usage mistake: the script prints the message and exits 2. */
export class PayloadArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadArgsError';
  }
}

interface PayloadOptions {
  kind: PayloadKind;
  device?: string;
  at?: string;
  counter?: string;
  supplier: string;
  executeAt?: string;
  cancel?: boolean;
  raisedAt?: string;
  restoredAt?: string;
  requestId?: string;
  firmware?: string;
  outcome?: string;
  imageHash: string;
}

function command(): Command {
  return new Command()
    .name('duis-payload')
    .description(
      'Prints a DUIS/MMC document for a demo device, valid against the V5.4 schemas, for POST /duis',
    )
    .addOption(new Option('--kind <kind>', 'document to build').choices(PAYLOAD_KINDS).makeOptionMandatory())
    .option('--device <eui64>', 'a demo ESME or Communications Hub (either of a pair names the premises)')
    .option(
      '--at <date-time>',
      'the event: SR11.3 sent, outage start, execution, meter answer (default: now)',
    )
    .option('--counter <n>', "the SR11.3's originator counter (default for sr11.3: --at in epoch ms)")
    .option('--supplier <eui64>', 'the SR11.3 sender', DEMO_SUPPLIER_ID)
    .option('--execute-at <date-time>', 'sr11.3: future-dated execution time')
    .option('--cancel', 'sr11.3: cancel the pending future-dated activation (ExecutionDateTime 3000-12-31)')
    .option('--raised-at <date-time>', 'ad1: when DCC sent it (default --at + 3 min); 8f66/8f67: alert time')
    .option('--restored-at <date-time>', 'restore: restorationValue (--at is the interruption; default now)')
    .option('--request-id <id>', 'sr11.2-response(-mmc): the verification request ID the service issued')
    .option('--firmware <version>', `firmware the meter reports (default ${DEMO_AFFECTED.firmwareAfter})`)
    .option('--outcome <status>', 'ASN.1 activation status (default success; 8f67: activationFailure)')
    .option('--image-hash <hex>', 'sr11.3: SHA-256 of the image', DEMO_IMAGE_HASH)
    .exitOverride();
}

/** Parses the script's arguments (without node and the script) and builds the document. */
export function payloadFromArgs(argv: readonly string[], now: Date): string {
  const program = command();
  program.parse([...argv], { from: 'user' });
  return buildPayload(program.opts<PayloadOptions>(), now);
}

/** The usage text, for `--help` and for mistakes. */
export function payloadUsage(): string {
  return command().helpInformation();
}

function dateOption(value: string | undefined, name: string, fallback: Date): Date {
  return value === undefined ? fallback : parseUtcDateTime(value, name);
}

function buildPayload(o: PayloadOptions, now: Date): string {
  // Whole seconds, as DCC writes times.
  const at = dateOption(o.at, '--at', new Date(Math.floor(now.getTime() / 1000) * 1000));
  if (o.kind === 'sr11.2-response' || o.kind === 'sr11.2-response-mmc') {
    if (!o.requestId)
      throw new PayloadArgsError(`--kind ${o.kind} needs --request-id (from verificationRequests)`);
    const answer = {
      requestId: parseRequestId(o.requestId, '--request-id').requestId,
      answeredAt: at,
      firmwareVersion: o.firmware ?? DEMO_AFFECTED.firmwareAfter,
    };
    return o.kind === 'sr11.2-response'
      ? readFirmwareVersionResponse(answer)
      : readFirmwareVersionResponseMmc(answer);
  }
  if (!o.device) throw new PayloadArgsError(`--kind ${o.kind} needs --device (a demo ESME or hub)`);
  const premises = demoPremises(o.device);
  if (o.kind === 'ad1') {
    return powerOutageAlert({
      commsHubGuid: premises.commsHubGuid,
      mpan: premises.mpan,
      startAt: at,
      raisedAt: o.raisedAt === undefined ? undefined : parseUtcDateTime(o.raisedAt, '--raised-at'),
    });
  }
  if (o.kind === 'restore') {
    const restorationAt = dateOption(o.restoredAt, '--restored-at', now);
    if (restorationAt < at) throw new PayloadArgsError('--restored-at is before the interruption (--at)');
    return supplyRestoredAlert({ esmeGuid: premises.esmeGuid, interruptionAt: at, restorationAt });
  }
  const supplier = parseEui64(o.supplier, '--supplier');
  if (o.kind === 'sr11.3') {
    const executeAt = o.cancel ? CANCELLATION_DATE : dateOption(o.executeAt, '--execute-at', at);
    return activateFirmwareRequest({
      requestId: `${supplier}:${premises.esmeGuid}:${o.counter ?? at.getTime()}`,
      imageHash: o.imageHash,
      executeAt: o.cancel || o.executeAt ? executeAt : null,
    });
  }
  if (!o.counter) throw new PayloadArgsError(`--kind ${o.kind} needs --counter (the SR11.3's counter)`);
  const requestId = parseRequestId(`${supplier}:${premises.esmeGuid}:${o.counter}`, '--counter').requestId;
  if (o.kind === 'sr11.3-response') {
    return activateFirmwareResponse({
      requestId,
      executedAt: at,
      outcomeCode: o.outcome,
      firmwareVersion: o.firmware ?? DEMO_AFFECTED.firmwareAfter,
    });
  }
  const alertCode = o.kind === '8f66' ? '8F66' : '8F67';
  return firmwareActivationAlert({
    requestId,
    alertCode,
    executedAt: at,
    raisedAt: o.raisedAt === undefined ? undefined : parseUtcDateTime(o.raisedAt, '--raised-at'),
    outcomeCode: o.outcome,
    firmwareVersion: o.firmware ?? (alertCode === '8F66' ? DEMO_AFFECTED.firmwareAfter : null),
  });
}

/** The demo premises of an ESME or hub GUID; anything else is a usage mistake that lists them. */
function demoPremises(device: string): DemoPremises {
  const guid = parseEui64(device, '--device');
  const found = DEMO_PREMISES.find((p) => p.esmeGuid === guid || p.commsHubGuid === guid);
  if (found) return found;
  const list = DEMO_PREMISES.map(
    (p) => `  ESME ${p.esmeGuid}  hub ${p.commsHubGuid}  MPAN ${p.mpan}  DNO ${p.distributorId}`,
  );
  throw new PayloadArgsError([`${guid} is not a demo device. The demo premises:`, ...list].join('\n'));
}
