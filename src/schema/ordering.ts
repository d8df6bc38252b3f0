import { Field, InputType, registerEnumType } from 'type-graphql';
import type { Page, SortDirection } from '../services/shared/pagination';

/**
 * `orderBy` on the paged connections, and their `totalCount`. Each connection sorts on one
 * indexed column (its keyset: the cursor is a place in that order), in either direction; the
 * field enums name it, so that another sort can be added without changing the argument's shape.
 */
export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, { name: 'OrderDirection', description: 'Ascending or descending.' });

export enum AlertOrderField {
  RECEIVED_AT = 'RECEIVED_AT',
}
registerEnumType(AlertOrderField, {
  name: 'AlertOrderField',
  description: 'What alerts sort on: RECEIVED_AT, when the service received them (ties by ID).',
});

export enum ActivationOrderField {
  SUBMITTED_AT = 'SUBMITTED_AT',
}
registerEnumType(ActivationOrderField, {
  name: 'ActivationOrderField',
  description: 'What activations sort on: SUBMITTED_AT, when the supplier submitted them (ties by ID).',
});

export enum DeviceOrderField {
  GUID = 'GUID',
}
registerEnumType(DeviceOrderField, { name: 'DeviceOrderField', description: 'What devices sort on: GUID.' });

@InputType({ description: 'Alert order (default: RECEIVED_AT, DESC, newest first).' })
export class AlertOrder {
  @Field(() => AlertOrderField, { defaultValue: AlertOrderField.RECEIVED_AT })
  field: AlertOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.DESC })
  direction: OrderDirection;
}

@InputType({ description: 'Activation order (default: SUBMITTED_AT, DESC, newest first).' })
export class ActivationOrder {
  @Field(() => ActivationOrderField, { defaultValue: ActivationOrderField.SUBMITTED_AT })
  field: ActivationOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.DESC })
  direction: OrderDirection;
}

@InputType({ description: 'Device order (default: GUID, ASC).' })
export class DeviceOrder {
  @Field(() => DeviceOrderField, { defaultValue: DeviceOrderField.GUID })
  field: DeviceOrderField;

  @Field(() => OrderDirection, { defaultValue: OrderDirection.ASC })
  direction: OrderDirection;
}

/** The direction an `orderBy` asks for, or the connection's default. */
export function directionOf(
  order: { direction?: OrderDirection | null } | null | undefined,
): SortDirection | undefined {
  return order?.direction ?? undefined;
}

export const ORDER_BY_DESCRIPTION =
  'Sort order. A cursor is a place in one order: passing it with another direction is INVALID_CURSOR.';

export const TOTAL_COUNT_DESCRIPTION =
  'How many match the filter in your scope, across all pages (counted only when asked for).';

/** A connection's fields from a page; `totalCount` is counted only if the query selects it. */
export function connectionOf<T>(page: Page<T>): {
  nodes: T[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  readonly totalCount: Promise<number>;
} {
  return {
    nodes: page.nodes,
    pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
    get totalCount() {
      return page.count();
    },
  };
}
