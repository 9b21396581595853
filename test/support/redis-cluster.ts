/**
 * A real Redis Cluster for tests (never a mock): `redis-server --cluster-enabled yes` on free ports,
 * joined with `redis-cli --cluster create`. Three masters, no replicas by default (a 2-core CI).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOnFreePorts, spawnRedisServer, stopChild, TEST_SERVER_ARGS } from './redis-server.ts';
import { redisCli, waitUntil } from './redis-cli.ts';

export interface ClusterNodeProcess {
  readonly host: string;
  readonly port: number;
}

export interface TestRedisCluster {
  /** The masters, in start order. */
  readonly nodes: readonly ClusterNodeProcess[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…`: what REDIS_CLUSTER_NODES takes. */
  readonly nodesEnv: string;
  /** The master serving `key` (CLUSTER KEYSLOT + CLUSTER SLOTS, asked of the cluster itself). */
  nodeFor(key: string): Promise<ClusterNodeProcess>;
  /** SIGSTOP / SIGCONT one master: it stops answering while its sockets stay open. */
  pause(node: ClusterNodeProcess): void;
  resume(node: ClusterNodeProcess): void;
  /** `redis-cli` against one master (setup and checks). */
  cli(node: ClusterNodeProcess, args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Default 3 (Redis Cluster's minimum). */
  readonly masters?: number;
  readonly password?: string;
}

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rgw-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const auth = options.password === undefined ? [] : ['--requirepass', options.password, '--masterauth', options.password];
  try {
    const nodes: ClusterNodeProcess[] = [];
    for (let index = 0; index < (options.masters ?? 3); index += 1) {
      // The cluster bus normally takes port + 10000, which may be taken or past 65535: give it its own free port.
      const [port, child] = await spawnOnFreePorts(
        2,
        async ([port = 0, busPort = 0]) =>
          [
            port,
            await spawnRedisServer(
              port,
              [
                '--port',
                String(port),
                '--bind',
                '127.0.0.1',
                '--cluster-enabled',
                'yes',
                '--cluster-config-file',
                join(dir, `nodes-${port}.conf`),
                '--cluster-port',
                String(busPort),
                '--cluster-node-timeout',
                '2000',
                ...TEST_SERVER_ARGS,
                '--dir',
                dir,
                ...auth,
              ],
              options.password === undefined ? {} : { password: options.password },
            ),
          ] as const,
      );
      children.set(port, child);
      nodes.push({ host: '127.0.0.1', port });
    }
    const cliOptions = options.password === undefined ? {} : { password: options.password };
    const [first] = nodes;
    if (first === undefined) throw new Error('a cluster needs nodes');
    await redisCli(first.port, ['--cluster', 'create', ...nodes.map((node) => `${node.host}:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      ...cliOptions,
      timeoutMs: 30_000,
    });
    for (const node of nodes) {
      await waitUntil(
        async () => (await redisCli(node.port, ['cluster', 'info'], cliOptions)).includes('cluster_state:ok'),
        20_000,
        `cluster state ok on ${node.port}`,
      );
      await waitUntil(
        async () => (await redisCli(node.port, ['cluster', 'nodes'], cliOptions)).split('\n').filter((line) => line.includes('master')).length === nodes.length,
        20_000,
        `node ${node.port} knows every master`,
      );
    }
    return {
      nodes,
      nodesEnv: nodes.map((node) => `${node.host}:${node.port}`).join(','),
      async nodeFor(key) {
        const slot = Number(await redisCli(first.port, ['cluster', 'keyslot', key], cliOptions));
        for (const line of (await redisCli(first.port, ['cluster', 'nodes'], cliOptions)).split('\n')) {
          const [, address, flags, , , , , , ...ranges] = line.split(' ');
          if (!flags?.includes('master') || address === undefined) continue;
          for (const range of ranges) {
            const [from, to] = range.split('-').map(Number);
            if (from !== undefined && slot >= from && slot <= (to ?? from)) {
              const port = Number(address.split('@')[0]?.split(':')[1]);
              const node = nodes.find((candidate) => candidate.port === port);
              if (node) return node;
            }
          }
        }
        throw new Error(`no master serves slot ${slot}`);
      },
      pause: (node) => void children.get(node.port)?.kill('SIGSTOP'),
      resume: (node) => void children.get(node.port)?.kill('SIGCONT'),
      cli: (node, args) => redisCli(node.port, args, cliOptions),
      async stop() {
        await Promise.all([...children.values()].map((child) => stopChild(child)));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all([...children.values()].map((child) => stopChild(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
