import { accessSync, constants } from 'node:fs';
import { z } from 'zod';

/** Env booleans: "true"/"1"/"yes" and "false"/"0"/"no"; anything else is a config error, not a silent false. */
export const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

/** `host:port,host:port,…` (IPv6 as `[::1]:6379`); a missing port is 6379 for data nodes and 26379 for sentinels. */
function hostPortList(defaultPort: number) {
  return z.string().transform((value, context) => {
    const nodes: RedisNodeAddress[] = [];
    for (const entry of value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')) {
      const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(entry);
      const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
      const host = match?.[1] ?? match?.[2];
      if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
        context.addIssue({ code: 'custom', message: `'${entry}' is not host:port` });
        return z.NEVER;
      }
      nodes.push({ host, port });
    }
    if (nodes.length === 0) {
      context.addIssue({ code: 'custom', message: 'lists no host:port' });
      return z.NEVER;
    }
    return nodes;
  });
}

/** A file the process can read now: a typo in a mounted Secret's path is a config error at start, not a TLS error later. */
export const readableFile = z.string().refine(
  (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a readable file' },
);

/**
 * The Redis variables, shared by the gateway's config and the worker's (the same names for both; a
 * public contract). Exactly one mode may be set: REDIS_URL (one Redis, `rediss://` for TLS),
 * REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS + REDIS_SENTINEL_MASTER (Sentinel).
 */
export const redisEnvShape = {
  /** One Redis: `redis://[user:password@]host:6379[/db]`, or `rediss://…` for TLS. Unset (with no other mode): embedded. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Redis Cluster startup nodes, `host:port,host:port,…` (any few masters; the rest are discovered). */
  REDIS_CLUSTER_NODES: hostPortList(6379).optional(),
  /** Sentinel addresses, `host:port,…` (default port 26379); needs REDIS_SENTINEL_MASTER. */
  REDIS_SENTINELS: hostPortList(26379).optional(),
  /** The master group name the sentinels monitor (`sentinel monitor <name> …`). */
  REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf), when they have one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** ACL user and password of the data nodes, for Cluster and Sentinel (with REDIS_URL, put them in the URL). */
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** TLS to the data nodes (and sentinels) in Cluster and Sentinel mode; with REDIS_URL the scheme decides (`rediss://`). */
  REDIS_TLS: booleanFromEnv.optional(),
  /** PEM file of the CA that signed the Redis server certificates (a private CA); default: Node's public CAs. */
  REDIS_TLS_CA_FILE: readableFile.optional(),
  /** PEM client certificate and key, for Redis with `tls-auth-clients yes` (mutual TLS); both or neither. */
  REDIS_TLS_CERT_FILE: readableFile.optional(),
  REDIS_TLS_KEY_FILE: readableFile.optional(),
};

export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Files, not contents: the client factory reads them when it builds a client. */
export interface RedisTlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

interface RedisAuth {
  readonly username?: string;
  readonly password?: string;
  /** Null: plain TCP. */
  readonly tls: RedisTlsFiles | null;
}

/** How to reach Redis, parsed from the variables above; one client factory (@rgw/redis) builds every client from it. */
export type RedisConnectionConfig =
  | ({ readonly mode: 'single'; readonly url: string } & RedisAuth)
  | ({ readonly mode: 'cluster'; readonly nodes: readonly RedisNodeAddress[] } & RedisAuth)
  | ({
      readonly mode: 'sentinel';
      readonly sentinels: readonly RedisNodeAddress[];
      readonly masterName: string;
      readonly sentinelPassword?: string;
    } & RedisAuth);

type RedisEnv = { readonly [Name in keyof typeof redisEnvShape]?: z.output<(typeof redisEnvShape)[Name]> };

/**
 * The one Redis mode the variables describe, or null (none set: embedded). Returns the problems
 * instead of throwing, one line per contradiction naming both variables, so the caller lists them
 * with every other bad variable.
 */
export function parseRedisConnection(env: RedisEnv): { config: RedisConnectionConfig | null; problems: string[] } {
  const problems: string[] = [];
  const modes = (
    [
      ['REDIS_URL', env.REDIS_URL],
      ['REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES],
      ['REDIS_SENTINELS', env.REDIS_SENTINELS],
    ] as const
  ).filter(([, value]) => value !== undefined);
  for (let i = 1; i < modes.length; i += 1) {
    problems.push(`${modes[0]?.[0]} and ${modes[i]?.[0]} are both set: choose one Redis mode (single, Cluster or Sentinel)`);
  }
  if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_MASTER === undefined) {
    problems.push('REDIS_SENTINELS is set without REDIS_SENTINEL_MASTER: name the master group the sentinels monitor');
  }
  if (env.REDIS_SENTINEL_MASTER !== undefined && env.REDIS_SENTINELS === undefined) {
    problems.push('REDIS_SENTINEL_MASTER is set without REDIS_SENTINELS: list the sentinels (host:port,…)');
  }
  if (env.REDIS_SENTINEL_PASSWORD !== undefined && env.REDIS_SENTINELS === undefined) {
    problems.push('REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS');
  }
  if ((env.REDIS_TLS_CERT_FILE === undefined) !== (env.REDIS_TLS_KEY_FILE === undefined)) {
    problems.push('REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together (mutual TLS needs the certificate and its key)');
  }
  const mode = modes[0]?.[0];
  let tlsOn = env.REDIS_TLS === true;
  if (mode === 'REDIS_URL' && env.REDIS_URL !== undefined) {
    const url = new URL(env.REDIS_URL);
    const scheme = url.protocol === 'rediss:';
    if (env.REDIS_TLS !== undefined && env.REDIS_TLS !== scheme) {
      problems.push(`REDIS_TLS=${String(env.REDIS_TLS)} contradicts REDIS_URL's scheme ${url.protocol}// (rediss:// is TLS, redis:// is not)`);
    }
    if ((env.REDIS_USERNAME !== undefined && url.username !== '') || (env.REDIS_PASSWORD !== undefined && url.password !== '')) {
      problems.push('REDIS_URL carries credentials and REDIS_USERNAME/REDIS_PASSWORD are set too: keep one of them');
    }
    tlsOn = scheme;
  }
  const tlsFiles = (['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const).filter((name) => env[name] !== undefined);
  if (tlsFiles.length > 0 && !tlsOn && mode !== undefined) {
    const how = mode === 'REDIS_URL' ? 'use a rediss:// REDIS_URL' : 'set REDIS_TLS=true';
    problems.push(`${tlsFiles.join(', ')} set but ${mode} does not use TLS: ${how}`);
  }
  if (mode === undefined) {
    const orphans = (
      ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE', 'REDIS_SENTINEL_MASTER'] as const
    ).filter((name) => env[name] !== undefined);
    if (orphans.length > 0 && !problems.some((line) => line.startsWith('REDIS_SENTINEL_MASTER'))) {
      problems.push(`${orphans.join(', ')} set but no Redis is: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS`);
    }
  }
  if (problems.length > 0 || mode === undefined) return { config: null, problems };

  const tls: RedisTlsFiles | null = tlsOn
    ? {
        ...(env.REDIS_TLS_CA_FILE === undefined ? {} : { caFile: env.REDIS_TLS_CA_FILE }),
        ...(env.REDIS_TLS_CERT_FILE === undefined ? {} : { certFile: env.REDIS_TLS_CERT_FILE }),
        ...(env.REDIS_TLS_KEY_FILE === undefined ? {} : { keyFile: env.REDIS_TLS_KEY_FILE }),
      }
    : null;
  const auth = {
    ...(env.REDIS_USERNAME === undefined ? {} : { username: env.REDIS_USERNAME }),
    ...(env.REDIS_PASSWORD === undefined ? {} : { password: env.REDIS_PASSWORD }),
    tls,
  };
  if (mode === 'REDIS_URL' && env.REDIS_URL !== undefined) return { config: { mode: 'single', url: env.REDIS_URL, ...auth }, problems };
  if (mode === 'REDIS_CLUSTER_NODES' && env.REDIS_CLUSTER_NODES !== undefined)
    return { config: { mode: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...auth }, problems };
  if (env.REDIS_SENTINELS === undefined || env.REDIS_SENTINEL_MASTER === undefined) return { config: null, problems };
  return {
    config: {
      mode: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      masterName: env.REDIS_SENTINEL_MASTER,
      ...(env.REDIS_SENTINEL_PASSWORD === undefined ? {} : { sentinelPassword: env.REDIS_SENTINEL_PASSWORD }),
      ...auth,
    },
    problems,
  };
}

/** One line describing where Redis is, without credentials (for logs and /ready). */
export function describeRedisConnection(config: RedisConnectionConfig): string {
  const tls = config.tls === null ? '' : ' (TLS)';
  switch (config.mode) {
    case 'single': {
      const url = new URL(config.url);
      return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}${tls}`;
    }
    case 'cluster':
      return `cluster ${config.nodes.map((node) => `${node.host}:${node.port}`).join(',')}${tls}`;
    case 'sentinel':
      return `sentinel master '${config.masterName}' via ${config.sentinels.map((node) => `${node.host}:${node.port}`).join(',')}${tls}`;
  }
}
