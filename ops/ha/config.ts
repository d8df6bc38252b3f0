import path from 'node:path';

/**
 * The configuration files of the local HA cluster (ops/ha/cluster.ts): one etcd, PostgreSQL
 * members managed by Patroni with synchronous replication, and HAProxy sending connections to
 * whichever member Patroni's REST API calls the primary. Pure functions of the folder and ports.
 */

export interface MemberPorts {
  readonly name: string;
  /** PostgreSQL's port. */
  readonly pg: number;
  /** Patroni's REST API (HAProxy's health check, switchover). */
  readonly rest: number;
}

export interface HaLayout {
  /** The temporary folder everything lives in. */
  readonly dir: string;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  /** Where the service connects: HAProxy, in front of the current primary. */
  readonly haproxy: number;
  readonly members: readonly MemberPorts[];
  /** PostgreSQL's server binaries (initdb, pg_ctl, postgres). */
  readonly pgBin: string;
}

/**
 * The settings that decide how a failover goes (docs/OPERATIONS.md, "High availability"):
 *
 * - `ttl` 10 s: a primary that stops renewing its leader key (frozen, cut off) loses it after at
 *   most this long, and a synchronous standby takes over. `loop_wait` 2 s is how often each
 *   Patroni looks; `retry_timeout` 4 s bounds a DCS or PostgreSQL call before Patroni gives up on
 *   it (Patroni wants loop_wait + 2 x retry_timeout <= ttl).
 * - `synchronous_mode`: a commit returns only once the synchronous standby has the WAL on disk, and
 *   only that standby may be promoted, so no acknowledged commit is lost in a failover.
 *   `synchronous_mode_strict` is off: with both standbys gone the primary keeps accepting writes,
 *   unprotected, rather than stopping the service.
 * - `primary_start_timeout` 0: when the primary's PostgreSQL crashes, Patroni fails over to the
 *   synchronous standby at once instead of spending up to 5 minutes on crash recovery in place.
 * - `use_pg_rewind`: a former primary rejoins as a standby, rewinding WAL it wrote that nobody
 *   acknowledged (a commit in flight when it died).
 */
export const PATRONI_TIMINGS = {
  ttl: 10,
  loop_wait: 2,
  retry_timeout: 4,
  primary_start_timeout: 0,
} as const;

/** HAProxy's health check of each member: every half second, down after 2 failures, up after 1. */
export const HAPROXY_CHECK = { interMs: 500, fall: 2, rise: 1 } as const;

export const SCOPE = 'poa-sieve-ha';
export const PASSWORD = 'poa-sieve-ha';

export function memberDir(layout: HaLayout, name: string): string {
  return path.join(layout.dir, name);
}

export function dataDir(layout: HaLayout, name: string): string {
  return path.join(memberDir(layout, name), 'data');
}

/** A member's Patroni configuration (YAML; JSON is YAML). */
export function patroniConfig(layout: HaLayout, member: MemberPorts): string {
  const dir = memberDir(layout, member.name);
  const config = {
    scope: SCOPE,
    name: member.name,
    log: { level: 'INFO', dir, file_num: 2, file_size: 10_000_000 },
    restapi: { listen: `127.0.0.1:${member.rest}`, connect_address: `127.0.0.1:${member.rest}` },
    // etcd's v2 API, not `etcd3`: Patroni 3.0.2 (Debian 12) renews the leader key over etcd3 with
    // an unconditional write, so a primary frozen past its TTL took the key back from the new
    // leader when it thawed and the writes acknowledged on the new leader were rewound away
    // (fixed upstream in Patroni 3.0.3). Over v2 the renewal is compare-and-swap on its own name.
    etcd: { host: `127.0.0.1:${layout.etcdClient}` },
    bootstrap: {
      dcs: {
        ...PATRONI_TIMINGS,
        maximum_lag_on_failover: 1024 * 1024,
        synchronous_mode: true,
        synchronous_mode_strict: false,
        synchronous_node_count: 1,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            wal_log_hints: 'on',
            max_connections: 100,
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: '128MB',
            synchronous_commit: 'on',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
      pg_hba: [
        'local all all trust',
        'host replication replicator 127.0.0.1/32 md5',
        'host all all 127.0.0.1/32 md5',
      ],
    },
    postgresql: {
      listen: `127.0.0.1:${member.pg}`,
      connect_address: `127.0.0.1:${member.pg}`,
      data_dir: dataDir(layout, member.name),
      bin_dir: layout.pgBin,
      pgpass: path.join(dir, 'pgpass'),
      authentication: {
        superuser: { username: 'postgres', password: PASSWORD },
        replication: { username: 'replicator', password: PASSWORD },
        rewind: { username: 'postgres', password: PASSWORD },
      },
      parameters: { unix_socket_directories: dir },
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * HAProxy in TCP mode: one listener for the service, each member checked on Patroni's
 * `GET /primary` (200 only on the member holding the leader key). `on-marked-down
 * shutdown-sessions` closes every session to a member the moment it is marked down, so
 * connections to a frozen or demoted primary fail at once instead of hanging. The long client and
 * server timeouts keep the service's idle connections (its LISTEN connection above all) open.
 */
export function haproxyConfig(layout: HaLayout): string {
  const { interMs, fall, rise } = HAPROXY_CHECK;
  return [
    'global',
    '    maxconn 400',
    '',
    'defaults',
    '    mode tcp',
    // A connection to a member that has just gone away fails at once and the service retries
    // it, rather than HAProxy retrying the same member a second apart (the LISTEN connection's
    // attempts took 2.5 s each during a switchover).
    '    retries 0',
    '    timeout connect 2s',
    '    timeout client 30m',
    '    timeout server 30m',
    '    timeout check 1s',
    '',
    'listen primary',
    `    bind 127.0.0.1:${layout.haproxy}`,
    '    option httpchk',
    '    http-check send meth GET uri /primary',
    '    http-check expect status 200',
    `    default-server inter ${interMs}ms fall ${fall} rise ${rise} on-marked-down shutdown-sessions`,
    ...layout.members.map((m) => `    server ${m.name} 127.0.0.1:${m.pg} maxconn 100 check port ${m.rest}`),
    '',
  ].join('\n');
}

/** etcd's command line: one member, on loopback only. */
export function etcdArgs(layout: HaLayout): string[] {
  const client = `http://127.0.0.1:${layout.etcdClient}`;
  const peer = `http://127.0.0.1:${layout.etcdPeer}`;
  return [
    '--name',
    'etcd1',
    '--data-dir',
    path.join(layout.dir, 'etcd'),
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `etcd1=${peer}`,
    '--initial-cluster-state',
    'new',
    // Patroni's `etcd` backend speaks the v2 API (see patroniConfig).
    '--enable-v2=true',
    '--log-level',
    'warn',
  ];
}
