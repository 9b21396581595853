/**
 * Every key the gateway and the worker write starts with this prefix. The version segment lets
 * old and new pods share one Redis during a rolling deploy: a change to a key's meaning or
 * encoding bumps it (`gw:v2:`), so the two never read each other's keys.
 */
export const KEY_PREFIX = 'gw:v1:';

/** BullMQ's own prefix (passed as its `prefix` option; never an ioredis `keyPrefix`, which BullMQ rejects). */
export const BULLMQ_PREFIX = `${KEY_PREFIX}bull`;
