import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../schema/context';
import { OperatorStatus } from '../schema/operator-status.type';
import type { OperatorStatusReport } from '../services/operations/operator-status';

@Resolver(() => OperatorStatus)
export class OperatorStatusResolver {
  @Query(() => OperatorStatus, {
    description:
      'The service at a glance: per DNO and in total, the AD1s received in the last `windowMinutes` by outcome, ' +
      'those held and awaiting a meter’s answer now, the verification reads by status, and each DNO consumer’s ' +
      'lag. The same figures are at GET /metrics (docs/OPERATIONS.md). Role: OPERATOR.',
  })
  operatorStatus(
    @Ctx() ctx: GraphQLContext,
    @Arg('windowMinutes', () => Int, {
      nullable: true,
      description: 'How far back to count, minutes (1-10080, default 60).',
    })
    windowMinutes?: number | null,
  ): Promise<OperatorStatusReport> {
    return ctx.services.operatorStatus.report(ctx.principal, windowMinutes);
  }
}
