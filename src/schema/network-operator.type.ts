import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';

export enum NetworkOperatorKind {
  DNO = 'DNO',
  IDNO = 'IDNO',
}
registerEnumType(NetworkOperatorKind, {
  name: 'NetworkOperatorKind',
  description: 'DNO: one of the 14 licensed distribution areas. IDNO: an independent network inside them.',
});

@Directive('@key(fields: "distributorId")')
@ObjectType({
  description: 'An electricity network operator: receives the AD1s for MPANs with its distributor ID.',
})
export class NetworkOperator {
  @Field({ description: 'Two-digit MPAN distributor ID (10-23 the licensed DNO areas, 24 and up IDNOs).' })
  distributorId: string;

  @Field(() => NetworkOperatorKind, { description: 'Licensed DNO or independent IDNO.' })
  kind: NetworkOperatorKind;

  @Field({ description: 'Licensee name.' })
  name: string;

  @Field({ description: 'Group that owns the licence.' })
  operatorGroup: string;

  @Field({ description: 'Area the licence covers.' })
  area: string;

  @Field(() => String, {
    nullable: true,
    description: 'Date (YYYY-MM-DD) the licence took effect; null when before our records.',
  })
  effectiveFrom: string | null;

  @Field(() => String, { nullable: true, description: 'Date the licence ended; null while current.' })
  effectiveTo: string | null;
}
