import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { VerificationRequestStatus } from '../services/evidence/verification-requests';
import { DateTimeScalar, EUI64Scalar } from './scalars';

export const VerificationStatusEnum = {
  PENDING: 'PENDING',
  ANSWERED: 'ANSWERED',
  TIMED_OUT: 'TIMED_OUT',
  SKIPPED: 'SKIPPED',
} as const satisfies { [K in VerificationRequestStatus]: K };
registerEnumType(VerificationStatusEnum, {
  name: 'VerificationStatus',
  description: 'Where a verification request stands.',
  valuesConfig: {
    PENDING: { description: 'Sent (or to be sent); no answer yet.' },
    ANSWERED: { description: 'The meter answered; see firmwareVersion and answeredAt.' },
    TIMED_OUT: { description: 'No answer by timeoutAt; a later attempt may have followed.' },
    SKIPPED: {
      description: 'Never sent: the request budget was spent, and the alert was released instead.',
    },
  },
});

@ObjectType({
  description:
    'An SR 11.2 Read Firmware Version the sieve asks the DSP adapter to send to a meter, when a held AD1 has no ' +
    'activation outcome by the time its Communications Hub must be back: the answer says whether the activation ran.',
})
export class VerificationRequest {
  @Field(() => String, {
    nullable: true,
    description:
      'Position in the verification stream (a 64-bit counter as a string); resume with after: sequence. Null for SKIPPED.',
  })
  sequence: string | null;

  @Field({ description: 'DUIS RequestID: sender EUI-64, meter EUI-64 and counter. The answer names it.' })
  requestId: string;

  @Field({ description: 'DUIS service request: always "11.2" (Read Firmware Version).' })
  serviceRequest: string;

  @Field(() => EUI64Scalar, { description: 'The meter (ESME) asked.' })
  deviceGuid: string;

  @Field(() => ID, { description: 'The AD1 whose decision asked for this request.' })
  alertId: string;

  @Field(() => Int, { description: 'Attempt number for this outage, from 1.' })
  attempt: number;

  @Field(() => VerificationStatusEnum, { description: 'Where the request stands.' })
  status: VerificationRequestStatus;

  @Field(() => DateTimeScalar, { description: 'When the sieve asked.' })
  requestedAt: Date;

  @Field(() => DateTimeScalar, { description: 'After this instant a missing answer counts as no answer.' })
  timeoutAt: Date;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When the meter answered (DUIS response time).',
  })
  answeredAt: Date | null;

  @Field(() => String, { nullable: true, description: 'The firmware version the meter reported.' })
  firmwareVersion: string | null;

  @Field({
    description:
      'The request as a DUIS XML document (DUIS 5.4 sr:Request, ReadFirmwareVersion), unsigned: the adapter signs it.',
  })
  duisRequest: string;
}

@InputType({ description: 'A meter’s answer to a verification request (SR 11.2 response).' })
export class VerificationAnswerInput {
  @Field({ description: 'The DUIS RequestID of the request answered.' })
  requestId: string;

  @Field(() => DateTimeScalar, { description: 'When the meter answered (the DUIS ResponseDateTime).' })
  answeredAt: Date;

  @Field(() => String, {
    nullable: true,
    description: 'The firmware version the meter reported (1-8 characters, hex as in DUIS).',
  })
  firmwareVersion?: string | null;
}
