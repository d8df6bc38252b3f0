import type { DataSource } from 'typeorm';
import { In, IsNull } from 'typeorm';
import { NetworkOperatorEntity } from '../../entities';

/** Reads the network operator licence table: public reference data, readable by anyone. */
export class NetworkOperatorService {
  constructor(private readonly dataSource: DataSource) {}

  /** Current licences, ordered by distributor ID. */
  async listCurrent(): Promise<NetworkOperatorEntity[]> {
    return this.dataSource
      .getRepository(NetworkOperatorEntity)
      .find({ where: { effectiveTo: IsNull() }, order: { distributorId: 'ASC' } });
  }

  /** Current licence of each distributor ID, in the order asked (undefined where unknown). */
  async currentByDistributorIds(ids: readonly string[]): Promise<(NetworkOperatorEntity | undefined)[]> {
    const rows = await this.dataSource
      .getRepository(NetworkOperatorEntity)
      .find({ where: { distributorId: In([...ids]), effectiveTo: IsNull() } });
    const byId = new Map(rows.map((r) => [r.distributorId, r]));
    return ids.map((id) => byId.get(id));
  }
}
