import type { EntityManager } from 'typeorm';
import { pairSupplyRestoredAlert } from '../../domain/engine';
import type { AlertDecision, EngineSettings } from '../../domain/engine';
import { AlertEntity } from '../../entities';
import type { DecisionService } from '../alerts/decision.service';
import { restoreFactOf, toOutageAlertFact } from '../evidence/outage-facts';
import type { DecisionChange } from '../shared/decision-change';
import { decodeAlertDecision } from '../shared/decision-codec';

const DAY_MS = 24 * 3600_000;

/** Pairs each new restore with the AD1 it restores, and decides it the same way. */
export async function pairAndDecideRestores(
  tx: EntityManager,
  decisions: DecisionService,
  settings: EngineSettings,
  restores: readonly AlertEntity[],
  now: Date,
): Promise<DecisionChange[]> {
  if (restores.length === 0) return [];
  const esmes = [...new Set(restores.map((r) => r.deviceGuid))];
  const links = (await tx.query(
    `SELECT comms_hub_guid, esme_guid, effective_from, effective_to FROM comms_hub_link WHERE esme_guid = ANY($1)`,
    [esmes],
  )) as { comms_hub_guid: string; esme_guid: string; effective_from: Date; effective_to: Date | null }[];
  const associations = links.map((l) => ({
    commsHubGuid: l.comms_hub_guid,
    esmeGuid: l.esme_guid,
    effectiveFrom: l.effective_from,
    effectiveTo: l.effective_to,
  }));
  const times = restores.map((r) => r.eventAt.getTime());
  const ad1s = associations.length
    ? await tx
        .getRepository(AlertEntity)
        .createQueryBuilder('a')
        .where("a.kind = 'AD1' AND a.device_guid = ANY(:chs) AND a.event_at BETWEEN :from AND :to", {
          chs: [...new Set(associations.map((a) => a.commsHubGuid))],
          from: new Date(Math.min(...times) - DAY_MS),
          to: new Date(Math.max(...times) + DAY_MS),
        })
        .getMany()
    : [];
  const ad1ById = new Map(ad1s.map((a) => [a.id, a]));
  const latest = await decisions.latestDecisions(
    tx,
    ad1s.map((a) => a.id),
  );
  const pairs = restores.map((restore) => {
    const paired = pairSupplyRestoredAlert(
      restoreFactOf(restore),
      ad1s.map(toOutageAlertFact),
      associations,
      settings,
    );
    const alert = paired ? ad1ById.get(paired.id)! : null;
    const json = alert ? latest.get(alert.id) : undefined;
    return {
      restore,
      paired: alert ? { alert, decision: json ? (decodeAlertDecision(json) as AlertDecision) : null } : null,
    };
  });
  const withPair = pairs.filter((p) => p.paired);
  if (withPair.length) {
    await tx.query(
      `UPDATE alert SET paired_alert_id = p.ad1 FROM unnest($1::bigint[], $2::bigint[]) AS p(id, ad1) WHERE alert.id = p.id`,
      [withPair.map((p) => p.restore.id), withPair.map((p) => p.paired!.alert.id)],
    );
  }
  return decisions.decideRestores(tx, pairs, now, 'INGEST');
}
