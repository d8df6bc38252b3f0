import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { renderReadFirmwareVersionRequest } from '../ingest/duis-requests';
import type { GraphQLContext } from '../schema/context';
import {
  VerificationAnswerInput,
  VerificationRequest,
  VerificationStatusEnum,
} from '../schema/verification.type';
import type {
  VerificationRequestRow,
  VerificationRequestStatus,
} from '../services/evidence/verification-requests';

/** The stored row as the GraphQL object; `duisRequest` is rendered only when asked for. */
type VerificationRequestSource = Omit<VerificationRequest, 'duisRequest'>;

function toVerificationRequest(row: VerificationRequestRow): VerificationRequestSource {
  return {
    sequence: row.sequence,
    requestId: row.requestId,
    serviceRequest: row.serviceRequest,
    deviceGuid: row.deviceGuid,
    alertId: row.alertId,
    attempt: row.attempt,
    status: row.status,
    requestedAt: row.requestedAt,
    timeoutAt: row.timeoutAt,
    answeredAt: row.answeredAt,
    firmwareVersion: row.firmwareVersion,
  };
}

@Resolver(() => VerificationRequest)
export class VerificationResolver {
  @Query(() => [VerificationRequest], {
    description:
      'Verification requests after `after` (a sequence; default: from the start), in sequence order; with `status`, ' +
      'only those that stand there now. Role: OPERATOR.',
  })
  async verificationRequests(
    @Ctx() ctx: GraphQLContext,
    @Arg('after', () => String, { nullable: true, description: 'Start after this sequence.' })
    after?: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'At most this many (1-500, default 100).' })
    first?: number | null,
    @Arg('status', () => VerificationStatusEnum, {
      nullable: true,
      description:
        'Only requests with this status now (PENDING: the reads still out). SKIPPED requests were never sent and ' +
        'have no sequence: refused with BAD_USER_INPUT; operatorStatus counts them.',
    })
    status?: VerificationRequestStatus | null,
  ): Promise<VerificationRequestSource[]> {
    return (await ctx.services.verificationFeed.page(ctx.principal, after, first, status)).map(
      toVerificationRequest,
    );
  }

  @Subscription(() => VerificationRequest, {
    name: 'verificationRequests',
    description:
      'The verification requests to send: everything after `after` (a sequence; default: the newest now, so only ' +
      'new ones), then live, in order, with no gap and no duplicate. Reconnect with the last sequence you ' +
      'processed. Role: OPERATOR (the DSP adapter).',
    subscribe: ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const a = args as { after?: string | null };
      return ctx.services.verificationFeed.stream(ctx.principal, a.after);
    },
  })
  verificationRequestStream(
    @Root() row: VerificationRequestRow,
    @Arg('after', () => String, { nullable: true, description: 'Resume after this sequence.' })
    _after?: string | null,
  ): VerificationRequestSource {
    return toVerificationRequest(row);
  }

  @Mutation(() => VerificationRequest, {
    description:
      'Records a meter’s answer to a verification request and re-decides the alerts that waited on it: the ' +
      'activation’s target version confirms them OTA-induced, the old version releases them. The same answer ' +
      'again changes nothing. Role: OPERATOR.',
  })
  async recordVerificationAnswer(
    @Arg('input', () => VerificationAnswerInput) input: VerificationAnswerInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<VerificationRequestSource> {
    return toVerificationRequest(await ctx.services.verification.recordAnswer(ctx.principal, input));
  }

  @FieldResolver(() => String, {
    description:
      'The request as a DUIS XML document (DUIS 5.4 sr:Request, ReadFirmwareVersion), unsigned: the adapter signs it.',
  })
  duisRequest(@Root() request: VerificationRequestSource): string {
    return renderReadFirmwareVersionRequest(request.requestId);
  }
}
