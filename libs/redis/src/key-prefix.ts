/**
 * Every key the gateway writes starts with this prefix. The version segment lets old and new pods
 * share one Redis during a rolling deploy: a change to a key's meaning, encoding or hash tags bumps
 * it, so the two never read each other's keys (docs/cluster.md, "Rolling deploy from gw:v1").
 *
 * v2 (this layout) is Redis Cluster–safe: every key a script or a multi-key command touches shares
 * one `{hash tag}`; stored responses are tagged by response id, so they spread over every shard.
 */
export const KEY_PREFIX = 'gw:v2:';

/** The layout before v2 (one Redis only; stored responses keyed by owner). Read by nothing; kept to document the migration. */
export const LEGACY_KEY_PREFIX = 'gw:v1:';

/**
 * BullMQ's own prefix (passed as its `prefix` option; never an ioredis `keyPrefix`, which BullMQ
 * rejects). In braces: BullMQ's scripts touch several keys of a queue, which in Redis Cluster must
 * share a slot (without it every BullMQ script fails CROSSSLOT).
 */
export const BULLMQ_PREFIX = `{${KEY_PREFIX}bull}`;
