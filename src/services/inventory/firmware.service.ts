import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal';
import type { Clock } from '../../clock';
import { ConflictError, InvalidInputError, NotFoundError } from '../../domain/errors';
import {
  parseFirmwareHash,
  parseFirmwareVersion,
  parseManufacturerId,
  parseModelId,
} from '../../domain/identifiers';
import {
  AffectedFirmwareRuleChangeEntity,
  AffectedFirmwareRuleEntity,
  FirmwareImageEntity,
} from '../../entities';
import { requireRole, requireUser } from '../shared/access';

export interface FirmwareImageInput {
  readonly manufacturer: string;
  readonly model: string;
  readonly version: string;
  readonly imageHash: string;
  readonly sizeBytes?: number | null;
  readonly releaseDate?: string | null;
}

export interface AffectedFirmwareRuleInput {
  /** Omitted to create a rule; given to change one. */
  readonly id?: string | null;
  /** For a change: the version the caller last read. A stale one is a CONFLICT (lost update). */
  readonly expectedVersion?: number | null;
  readonly name: string;
  readonly deviceType?: 'ESME' | 'CHF' | null;
  readonly manufacturer: string;
  readonly model: string;
  readonly affectedFirmwareVersions: readonly string[];
  readonly targetFirmwareVersion?: string | null;
  readonly targetImageHash?: string | null;
  readonly windowMinutes?: number | null;
  readonly skewMinutes?: number | null;
  readonly executedWindowMinutes?: number | null;
  readonly maxCommsHubOffMinutes?: number | null;
  readonly enabled?: boolean | null;
  readonly shadow?: boolean | null;
}

export interface RuleDefaults {
  readonly windowMinutes: number;
  readonly skewMinutes: number;
  readonly executedWindowMinutes: number;
  readonly maxCommsHubOffMinutes: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseUuid(input: string, entity: string, field: string): string {
  if (!UUID.test(input)) throw new InvalidInputError('INVALID_ID', `${field} is not a ${entity} ID`, field);
  return input.toLowerCase();
}

/** Firmware images and the affected-firmware rules (the MP102B filter list keyed on models and versions). */
export class FirmwareService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly defaults: RuleDefaults,
  ) {}

  async registerFirmwareImage(principal: Principal, input: FirmwareImageInput): Promise<FirmwareImageEntity> {
    const user = requireRole(principal, 'OPERATOR');
    const manufacturer = parseManufacturerId(input.manufacturer, 'manufacturer');
    const model = parseModelId(input.model, 'model');
    const version = parseFirmwareVersion(input.version, 'version');
    const imageHash = parseFirmwareHash(input.imageHash, 'imageHash');
    if (
      input.sizeBytes !== undefined &&
      input.sizeBytes !== null &&
      (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes <= 0)
    ) {
      throw new InvalidInputError('INVALID_SIZE', 'sizeBytes must be a positive whole number', 'sizeBytes');
    }
    if (input.releaseDate && !isCalendarDate(input.releaseDate)) {
      throw new InvalidInputError('INVALID_DATE', 'releaseDate must be YYYY-MM-DD', 'releaseDate');
    }
    const repo = this.dataSource.getRepository(FirmwareImageEntity);
    const existing = await repo.findOneBy({ manufacturer, model, version });
    if (existing) {
      // Registering the same image again is a retry, not an error.
      if (existing.imageHash === imageHash) return existing;
      throw new ConflictError(
        'IMAGE_VERSION_EXISTS',
        `${manufacturer}/${model} version ${version} is already registered with another hash`,
      );
    }
    const [row] = (await this.dataSource.query(
      `INSERT INTO firmware_image (manufacturer, model, version, image_hash, size_bytes, release_date, registered_at, registered_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        manufacturer,
        model,
        version,
        imageHash,
        input.sizeBytes ?? null,
        input.releaseDate ?? null,
        this.clock.now(),
        user.subject,
      ],
    )) as { id: string }[];
    if (!row) {
      throw new ConflictError(
        'IMAGE_HASH_EXISTS',
        `this image hash is already registered for ${manufacturer}/${model}`,
      );
    }
    return repo.findOneByOrFail({ id: row.id });
  }

  /** Images readable by every authenticated role (suppliers need them to schedule activations). */
  async listImages(
    principal: Principal,
    filter: { manufacturer?: string | null; model?: string | null },
  ): Promise<FirmwareImageEntity[]> {
    requireUser(principal);
    const qb = this.dataSource.getRepository(FirmwareImageEntity).createQueryBuilder('i');
    if (filter.manufacturer)
      qb.andWhere('i.manufacturer = :m', { m: parseManufacturerId(filter.manufacturer, 'manufacturer') });
    if (filter.model) qb.andWhere('i.model = :model', { model: parseModelId(filter.model, 'model') });
    return qb.orderBy('i.manufacturer').addOrderBy('i.model').addOrderBy('i.version').limit(1000).getMany();
  }

  async imagesByIds(ids: readonly string[]): Promise<(FirmwareImageEntity | undefined)[]> {
    const rows = await this.dataSource
      .getRepository(FirmwareImageEntity)
      .createQueryBuilder('i')
      .where('i.id = ANY(:ids::uuid[])', { ids: [...ids] })
      .getMany();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  /**
   * Creates or changes a rule. Each change bumps the version and appends who, when and the new
   * rule to the audit trail in the same transaction.
   */
  async upsertRule(
    principal: Principal,
    input: AffectedFirmwareRuleInput,
  ): Promise<AffectedFirmwareRuleEntity> {
    const user = requireRole(principal, 'OPERATOR');
    const fields = ruleFields(input, this.defaults);
    const now = this.clock.now();
    return this.dataSource.transaction(async (tx) => {
      const rule = input.id
        ? await changeRule(
            tx,
            { id: input.id, expectedVersion: input.expectedVersion },
            fields,
            now,
            user.subject,
          )
        : await createRule(tx, fields, now, user.subject);
      // Raw insert: the jsonb snapshot is the rule as it became, nulls included.
      await tx.query(
        'INSERT INTO affected_firmware_rule_change (rule_id, version, changed_at, changed_by, rule) VALUES ($1, $2, $3, $4, $5)',
        [rule.id, rule.version, now, user.subject, JSON.stringify(fields)],
      );
      return rule;
    });
  }

  /** Rules are readable by every authenticated role: they are what the sieve applies to everyone. */
  async listRules(principal: Principal): Promise<AffectedFirmwareRuleEntity[]> {
    requireUser(principal);
    return this.dataSource
      .getRepository(AffectedFirmwareRuleEntity)
      .find({ order: { manufacturer: 'ASC', model: 'ASC', name: 'ASC' } });
  }

  async ruleChanges(ruleIds: readonly string[]): Promise<AffectedFirmwareRuleChangeEntity[][]> {
    const rows = await this.dataSource
      .getRepository(AffectedFirmwareRuleChangeEntity)
      .createQueryBuilder('c')
      .where('c.rule_id = ANY(:ids::uuid[])', { ids: [...ruleIds] })
      .orderBy('c.version', 'ASC')
      .getMany();
    return ruleIds.map((id) => rows.filter((r) => r.ruleId === id));
  }
}

/** YYYY-MM-DD naming a real day of years 1-9999 (2026-02-30 is not one, nor is year 0). */
function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || value.startsWith('0000')) return false;
  const time = Date.parse(`${value}T00:00:00.000Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
}

/** A rule's fields as validated: what upsertRule saves, and its audit trail's snapshot. */
interface RuleFields {
  name: string;
  deviceType: 'ESME' | 'CHF';
  manufacturer: string;
  model: string;
  affectedFirmwareVersions: string[];
  targetFirmwareVersion: string | null;
  targetImageHash: string | null;
  windowMinutes: number;
  skewMinutes: number;
  executedWindowMinutes: number;
  maxCommsHubOffMinutes: number;
  enabled: boolean;
  shadow: boolean;
}

/** Validates a rule input and applies the defaults, checking the fields in the order they are listed. */
function ruleFields(input: AffectedFirmwareRuleInput, defaults: RuleDefaults): RuleFields {
  const name = input.name.trim();
  if (name.length < 1 || name.length > 200) {
    throw new InvalidInputError('INVALID_NAME', 'name must be 1-200 characters', 'name');
  }
  const versions = input.affectedFirmwareVersions.map((v, i) =>
    parseFirmwareVersion(v, `affectedFirmwareVersions[${i}]`),
  );
  if (versions.length === 0 || versions.length > 100) {
    throw new InvalidInputError(
      'INVALID_FIRMWARE_VERSIONS',
      'affectedFirmwareVersions must list 1-100 versions',
      'affectedFirmwareVersions',
    );
  }
  const minutes = ruleMinutes(input, defaults);
  return {
    name,
    deviceType: input.deviceType ?? 'ESME',
    manufacturer: parseManufacturerId(input.manufacturer, 'manufacturer'),
    model: parseModelId(input.model, 'model'),
    affectedFirmwareVersions: [...new Set(versions)].sort(),
    targetFirmwareVersion: input.targetFirmwareVersion
      ? parseFirmwareVersion(input.targetFirmwareVersion, 'targetFirmwareVersion')
      : null,
    targetImageHash: input.targetImageHash
      ? parseFirmwareHash(input.targetImageHash, 'targetImageHash')
      : null,
    ...minutes,
    enabled: input.enabled ?? true,
    shadow: input.shadow ?? false,
  };
}

/** The rule's windows and bounds in minutes, each given or defaulted, and checked. */
function ruleMinutes(
  input: AffectedFirmwareRuleInput,
  defaults: RuleDefaults,
): Pick<RuleFields, 'windowMinutes' | 'skewMinutes' | 'executedWindowMinutes' | 'maxCommsHubOffMinutes'> {
  const windowMinutes = input.windowMinutes ?? defaults.windowMinutes;
  const skewMinutes = input.skewMinutes ?? defaults.skewMinutes;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 1440) {
    throw new InvalidInputError('INVALID_WINDOW', 'windowMinutes must be 1-1440', 'windowMinutes');
  }
  if (!Number.isInteger(skewMinutes) || skewMinutes < 0 || skewMinutes > 120) {
    throw new InvalidInputError('INVALID_SKEW', 'skewMinutes must be 0-120', 'skewMinutes');
  }
  const executedWindowMinutes = input.executedWindowMinutes ?? defaults.executedWindowMinutes;
  if (!Number.isInteger(executedWindowMinutes) || executedWindowMinutes < 1 || executedWindowMinutes > 1440) {
    throw new InvalidInputError(
      'INVALID_WINDOW',
      'executedWindowMinutes must be 1-1440',
      'executedWindowMinutes',
    );
  }
  const maxCommsHubOffMinutes = input.maxCommsHubOffMinutes ?? defaults.maxCommsHubOffMinutes;
  if (!Number.isInteger(maxCommsHubOffMinutes) || maxCommsHubOffMinutes < 1 || maxCommsHubOffMinutes > 120) {
    throw new InvalidInputError(
      'INVALID_CUT_BOUND',
      'maxCommsHubOffMinutes must be 1-120',
      'maxCommsHubOffMinutes',
    );
  }
  return { windowMinutes, skewMinutes, executedWindowMinutes, maxCommsHubOffMinutes };
}

/**
 * A change of the rule `target.id`, inside upsertRule's transaction: locks it, refuses a stale
 * `target.expectedVersion`, and saves the new fields as the next version.
 */
async function changeRule(
  tx: EntityManager,
  target: Pick<AffectedFirmwareRuleInput, 'expectedVersion'> & { readonly id: string },
  fields: RuleFields,
  now: Date,
  subject: string,
): Promise<AffectedFirmwareRuleEntity> {
  const repo = tx.getRepository(AffectedFirmwareRuleEntity);
  const id = parseUuid(target.id, 'rule', 'id');
  const current = await repo
    .createQueryBuilder('r')
    .setLock('pessimistic_write')
    .where('r.id = :id', { id })
    .getOne();
  if (!current) throw new NotFoundError('AffectedFirmwareRule', id);
  if (
    target.expectedVersion !== undefined &&
    target.expectedVersion !== null &&
    target.expectedVersion !== current.version
  ) {
    throw new ConflictError(
      'STALE_RULE_VERSION',
      `the rule is at version ${current.version}, not ${target.expectedVersion}`,
      {
        currentVersion: current.version,
      },
    );
  }
  const rule = repo.merge(current, fields, {
    version: current.version + 1,
    updatedAt: now,
    updatedBy: subject,
  });
  await repo.save(rule);
  return rule;
}

/** A new rule at version 1, inside upsertRule's transaction. */
async function createRule(
  tx: EntityManager,
  fields: RuleFields,
  now: Date,
  subject: string,
): Promise<AffectedFirmwareRuleEntity> {
  const repo = tx.getRepository(AffectedFirmwareRuleEntity);
  const [row] = (await tx.query('SELECT gen_random_uuid() AS id')) as { id: string }[];
  const rule = repo.create({ ...fields, id: row.id, version: 1, updatedAt: now, updatedBy: subject });
  await repo.insert(rule);
  return rule;
}
