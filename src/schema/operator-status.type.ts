import { Field, Int, ObjectType } from 'type-graphql';
import { DnoDeliveryStatus } from './delivery.type';
import { DateTimeScalar } from './scalars';

@ObjectType({ description: 'AD1s received within the window, by the outcome each has now.' })
export class AlertOutcomeCounts {
  @Field(() => Int, { description: 'AD1s received within the window.' })
  received: number;

  @Field(() => Int, { description: 'Of those, still HELD (awaiting evidence or a meter’s answer).' })
  held: number;

  @Field(() => Int, { description: 'Withheld from the DNO as OTA-induced (FILTER).' })
  suppressed: number;

  @Field(() => Int, { description: 'Delivered with an OTA_INDUCED companion (PAIR).' })
  paired: number;

  @Field(() => Int, { description: 'Held, then delivered as genuine or undecidable (RELEASED).' })
  released: number;

  @Field(() => Int, { description: 'Delivered at once (DELIVERED).' })
  delivered: number;
}

@ObjectType({
  description:
    'Verification reads of meters (SR 11.2) requested within the window, by where each stands now.',
})
export class VerificationCounts {
  @Field(() => Int, { description: 'Sent; no answer yet.' })
  pending: number;

  @Field(() => Int, { description: 'The meter answered.' })
  answered: number;

  @Field(() => Int, { description: 'No answer by the timeout (a silent meter: a genuine outage).' })
  timedOut: number;

  @Field(() => Int, { description: 'Never sent: the request budget was spent and the AD1 released.' })
  skipped: number;
}

@ObjectType({ description: 'What the operator watches, over every DNO (unrouted AD1s included).' })
export class OperatingTotals {
  @Field(() => AlertOutcomeCounts, { description: 'AD1s received within the window, by outcome now.' })
  alerts: AlertOutcomeCounts;

  @Field(() => Int, { description: 'AD1s HELD now, whenever they were received.' })
  heldNow: number;

  @Field(() => Int, {
    description: 'Of those, the ones waiting for a meter’s answer (AWAITING_VERIFICATION).',
  })
  awaitingVerification: number;

  @Field(() => VerificationCounts, { description: 'Verification reads requested within the window.' })
  verifications: VerificationCounts;
}

@ObjectType({ description: 'What the operator watches, for one DNO.' })
export class DnoOperatingStatus extends OperatingTotals {
  @Field({ description: 'Distributor ID.' })
  distributorId: string;

  @Field(() => DnoDeliveryStatus, {
    nullable: true,
    description:
      'The DNO’s stream and how far its consumer is behind (lag, secondsSinceAcknowledgement); null when it has none yet.',
  })
  delivery: DnoDeliveryStatus | null;
}

@ObjectType({
  description:
    'The service at a glance, for the people who run it: per DNO and in total, what became of the AD1s of a ' +
    'recent window, what is held now, the verification reads and each DNO consumer’s lag.',
})
export class OperatorStatus {
  @Field(() => DateTimeScalar, { description: 'When the figures were read (service clock).' })
  at: Date;

  @Field(() => DateTimeScalar, { description: 'Start of the window: at minus windowMinutes.' })
  since: Date;

  @Field(() => Int, { description: 'The window, minutes.' })
  windowMinutes: number;

  @Field(() => OperatingTotals, { description: 'Every DNO together, unrouted AD1s included.' })
  total: OperatingTotals;

  @Field(() => [DnoOperatingStatus], {
    description: 'Each DNO with an AD1 or request in the window, a held AD1 or a stream, by distributor ID.',
  })
  distributors: DnoOperatingStatus[];
}
