import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A network operator licence row: who receives AD1s for MPANs with this distributor ID, and when. */
@Entity('network_operator')
export class NetworkOperatorEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'distributor_id', type: 'char', length: 2 })
  distributorId: string;

  @Column({ type: 'text' })
  kind: 'DNO' | 'IDNO';

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'operator_group', type: 'text' })
  operatorGroup: string;

  @Column({ type: 'text' })
  area: string;

  @Column({ name: 'effective_from', type: 'date', nullable: true })
  effectiveFrom: string | null;

  @Column({ name: 'effective_to', type: 'date', nullable: true })
  effectiveTo: string | null;
}
