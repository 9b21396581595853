/**
 * A real Sentinel set for tests (never a mock): one master, one replica and three sentinels
 * (`redis-server <conf> --sentinel`, quorum 2) on free ports, with short down-after and failover
 * timeouts so a killed master is replaced within a few seconds.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOnFreePorts, spawnRedisServer, stopChild, TEST_SERVER_ARGS } from './redis-server.ts';
import { redisCli, waitUntil } from './redis-cli.ts';

export interface TestRedisSentinel {
  readonly masterName: string;
  /** `127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3`: what REDIS_SENTINELS takes. */
  readonly sentinelsEnv: string;
  /** The data nodes' ports (master and replica, whichever is which now). */
  readonly dataPorts: readonly number[];
  /** The port of the current master, as the sentinels report it. */
  masterPort(): Promise<number>;
  /**
   * `SENTINEL FAILOVER`: the sentinels promote the replica and demote the master while it keeps
   * running, the case where writes the old master took after the promotion are lost when it
   * resyncs from the new one. Resolves once the replica is master and the old master its replica.
   */
  manualFailover(): Promise<{ demoted: number; promoted: number }>;
  /** SIGKILL the current master; resolves with its port once the sentinels promoted the replica. */
  killMasterAndAwaitFailover(): Promise<{ killed: number; promoted: number }>;
  /** Start a killed data node again (empty): the sentinels make it a replica of the current master. Resolves once it is in sync. */
  restartKilled(): Promise<void>;
  /** `redis-cli` against a data node. */
  cli(port: number, args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface StartRedisSentinelOptions {
  readonly masterName?: string;
  /** `requirepass` of the data nodes (the replica authenticates with it too). */
  readonly password?: string;
}

export async function startRedisSentinel(options: StartRedisSentinelOptions = {}): Promise<TestRedisSentinel> {
  const masterName = options.masterName ?? 'rgwmaster';
  const dir = mkdtempSync(join(tmpdir(), 'rgw-redis-sentinel-'));
  const data = new Map<number, ChildProcess>();
  const sentinels = new Map<number, ChildProcess>();
  const cliOptions = options.password === undefined ? {} : { password: options.password };
  const auth = options.password === undefined ? [] : ['--requirepass', options.password, '--masterauth', options.password];
  const dataArgs = (port: number, replicaOf?: number) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    ...TEST_SERVER_ARGS,
    '--dir',
    dir,
    ...auth,
    ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
  ];
  let killed: number | undefined;
  try {
    const masterPort = await spawnOnFreePorts(1, async ([port = 0]) => {
      data.set(port, await spawnRedisServer(port, dataArgs(port), cliOptions));
      return port;
    });
    const replicaPort = await spawnOnFreePorts(1, async ([port = 0]) => {
      data.set(port, await spawnRedisServer(port, dataArgs(port, masterPort), cliOptions));
      return port;
    });
    // In sync as the master sees it (WAIT counts only replicas the master has online).
    await waitUntil(async () => /slave0:.*state=online/.test(await redisCli(masterPort, ['info', 'replication'], cliOptions)), 10_000, 'replica in sync');

    const sentinelPorts: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      const port = await spawnOnFreePorts(1, async ([port = 0]) => {
        const conf = join(dir, `sentinel-${port}.conf`);
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${dir}`,
            `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
            `sentinel down-after-milliseconds ${masterName} 1000`,
            `sentinel failover-timeout ${masterName} 4000`,
            `sentinel parallel-syncs ${masterName} 1`,
            ...(options.password === undefined ? [] : [`sentinel auth-pass ${masterName} ${options.password}`]),
            '',
          ].join('\n'),
        );
        sentinels.set(port, await spawnRedisServer(port, [conf, '--sentinel']));
        return port;
      });
      sentinelPorts.push(port);
    }
    // Sentinels find the replica through the master and each other through hello messages.
    for (const port of sentinelPorts) {
      await waitUntil(
        async () => {
          const fields = (await redisCli(port, ['sentinel', 'master', masterName])).split('\n');
          const value = (name: string) => fields[fields.indexOf(name) + 1];
          return value('num-slaves') === '1' && value('num-other-sentinels') === '2';
        },
        20_000,
        `sentinel ${port} sees the replica and the other sentinels`,
      );
    }
    const [firstSentinel] = sentinelPorts;
    if (firstSentinel === undefined) throw new Error('no sentinel');
    const currentMaster = async () => Number((await redisCli(firstSentinel, ['sentinel', 'get-master-addr-by-name', masterName])).split('\n')[1]);

    return {
      masterName,
      sentinelsEnv: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      dataPorts: [masterPort, replicaPort],
      masterPort: currentMaster,
      async manualFailover() {
        const before = await currentMaster();
        await redisCli(firstSentinel, ['sentinel', 'failover', masterName]);
        await waitUntil(async () => (await currentMaster()) !== before, 30_000, 'sentinels promoted the replica');
        const promoted = await currentMaster();
        await waitUntil(
          async () => (await redisCli(before, ['info', 'replication'], cliOptions)).includes('master_link_status:up'),
          30_000,
          'old master now a replica in sync',
        );
        return { demoted: before, promoted };
      },
      async killMasterAndAwaitFailover() {
        const before = await currentMaster();
        await stopChild(data.get(before), 'SIGKILL');
        data.delete(before);
        killed = before;
        await waitUntil(async () => (await currentMaster()) !== before, 30_000, 'sentinels promoted the replica');
        const promoted = await currentMaster();
        await waitUntil(async () => (await redisCli(promoted, ['role'], cliOptions)).startsWith('master'), 10_000, 'promoted replica is a master');
        return { killed: before, promoted };
      },
      async restartKilled() {
        if (killed === undefined) return;
        const port = killed;
        killed = undefined;
        // Back as a replica of the current master: the sentinels would reconfigure it anyway.
        data.set(port, await spawnRedisServer(port, dataArgs(port, await currentMaster()), cliOptions));
        await waitUntil(
          async () => (await redisCli(port, ['info', 'replication'], cliOptions)).includes('master_link_status:up'),
          20_000,
          'restarted node in sync',
        );
      },
      cli: (port, args) => redisCli(port, args, cliOptions),
      async stop() {
        await Promise.all([...sentinels.values()].map((child) => stopChild(child)));
        await Promise.all([...data.values()].map((child) => stopChild(child)));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all([...sentinels.values(), ...data.values()].map((child) => stopChild(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
