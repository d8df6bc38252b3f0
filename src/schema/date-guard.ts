import { defaultFieldResolver } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import type { GraphQLContext } from './context';

/**
 * Where a mutation argument may carry DUIS's cancellation date (3000-12-31): the ExecutionDateTime
 * of an SR11.3, as DUIS defines it. Nowhere else.
 */
const CANCELLATION_SENTINEL_AT: Readonly<Record<string, ReadonlySet<string>>> = {
  scheduleFirmwareActivation: new Set(['activation.executeAt']),
};

/**
 * Every mutation checks the date-times of its arguments, at any depth, against the plausible range
 * (src/domain/input-dates.ts) before its resolver runs: one out of range refuses the whole field
 * with BAD_USER_INPUT DATE_OUT_OF_RANGE, and nothing is written. Done on the schema, not in each
 * service, so that a mutation added later is covered without anyone remembering to.
 */
export function guardMutationDates(schema: GraphQLSchema): void {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    const sentinelAt = CANCELLATION_SENTINEL_AT[field.name];
    field.resolve = (source, args: Record<string, unknown>, context: GraphQLContext, info) => {
      // A caller without a token is refused by the resolver first (UNAUTHENTICATED), whatever it sent.
      if (context.principal.kind === 'user') context.services.inputDates.check(args, sentinelAt);
      return resolve(source, args, context, info);
    };
  }
}
