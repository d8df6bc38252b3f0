import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Network operators (the MPAN distributor IDs) as data with effective dates, not as an enum:
 * licences change hands, and an AD1 must be routed by what held on its date.
 *
 * effective_from is the date the row took effect where known (vesting day, 31 March 1990, for
 * the 14 licensed areas); NULL means "before our records start".
 */
export class NetworkOperators1763700000000 implements MigrationInterface {
  name = 'NetworkOperators1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE network_operator (
        id             bigserial PRIMARY KEY,
        distributor_id char(2)   NOT NULL CHECK (distributor_id ~ '^[0-9]{2}$'),
        kind           text      NOT NULL CHECK (kind IN ('DNO', 'IDNO')),
        name           text      NOT NULL,
        operator_group text      NOT NULL,
        area           text      NOT NULL,
        effective_from date,
        effective_to   date,
        CHECK (effective_to IS NULL OR effective_from IS NULL OR effective_to > effective_from)
      )`);
    // At most one current row per distributor ID: routing looks it up on every AD1.
    await q.query(`
      CREATE UNIQUE INDEX network_operator_current_uq
        ON network_operator (distributor_id) WHERE effective_to IS NULL`);
    await q.query(`
      INSERT INTO network_operator (distributor_id, kind, name, operator_group, area, effective_from) VALUES
        ('10', 'DNO', 'Eastern Power Networks', 'UK Power Networks', 'Eastern', '1990-03-31'),
        ('11', 'DNO', 'National Grid Electricity Distribution (East Midlands)', 'National Grid Electricity Distribution', 'East Midlands', '1990-03-31'),
        ('12', 'DNO', 'London Power Networks', 'UK Power Networks', 'London', '1990-03-31'),
        ('13', 'DNO', 'SP Manweb', 'SP Energy Networks', 'Merseyside and North Wales', '1990-03-31'),
        ('14', 'DNO', 'National Grid Electricity Distribution (West Midlands)', 'National Grid Electricity Distribution', 'West Midlands', '1990-03-31'),
        ('15', 'DNO', 'Northern Powergrid (Northeast)', 'Northern Powergrid', 'North East', '1990-03-31'),
        ('16', 'DNO', 'Electricity North West', 'Electricity North West', 'North West', '1990-03-31'),
        ('17', 'DNO', 'Scottish Hydro Electric Power Distribution', 'SSEN', 'North Scotland', '1990-03-31'),
        ('18', 'DNO', 'SP Distribution', 'SP Energy Networks', 'South and Central Scotland', '1990-03-31'),
        ('19', 'DNO', 'South Eastern Power Networks', 'UK Power Networks', 'South East', '1990-03-31'),
        ('20', 'DNO', 'Southern Electric Power Distribution', 'SSEN', 'Southern', '1990-03-31'),
        ('21', 'DNO', 'National Grid Electricity Distribution (South Wales)', 'National Grid Electricity Distribution', 'South Wales', '1990-03-31'),
        ('22', 'DNO', 'National Grid Electricity Distribution (South West)', 'National Grid Electricity Distribution', 'South West', '1990-03-31'),
        ('23', 'DNO', 'Northern Powergrid (Yorkshire)', 'Northern Powergrid', 'Yorkshire', '1990-03-31'),
        ('24', 'IDNO', 'GTC (Independent Power Networks)', 'GTC', 'Great Britain (embedded networks)', NULL),
        ('25', 'IDNO', 'ESP Electricity', 'ESP Utilities', 'Great Britain (embedded networks)', NULL),
        ('26', 'IDNO', 'Energetics Electricity', 'Energetics', 'Great Britain (embedded networks)', NULL),
        ('27', 'IDNO', 'GTC (The Electricity Network Company)', 'GTC', 'Great Britain (embedded networks)', NULL),
        ('28', 'IDNO', 'UK Power Networks (IDNO)', 'UK Power Networks', 'Great Britain (embedded networks)', NULL),
        ('29', 'IDNO', 'Harlaxton Energy Networks', 'Harlaxton', 'Great Britain (embedded networks)', NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE network_operator');
  }
}
