import { KEY_PREFIX, loadLuaScript, reply } from '@rgw/redis';
import type { BreakerState } from './circuit-breaker.ts';

/**
 * Default prefix of every breaker key. The `{cb}` hash tag puts all of them in one Redis Cluster
 * slot: the record script updates a scope's keys and the shared set of active scopes together,
 * and the resync reads every active scope in one script. Breaker state is small (a few keys per
 * model) and is touched only while a scope is failing, so one shard carries it easily.
 */
export const BREAKER_KEY_PREFIX = `${KEY_PREFIX}{cb}:`;

export type AcquireReply =
  | { readonly state: 'open' | 'half_open'; readonly ttlMs: number; readonly generation: number }
  | { readonly state: 'probe'; readonly ttlMs: number; readonly generation: number }
  | { readonly state: 'closed'; readonly ttlMs: 0; readonly generation: number };

export type RecordReply = {
  readonly result: 'open' | 'closed' | 'released' | 'stale' | 'ignored';
  readonly generation: number;
  /** open: the open time, ms; closed: the consecutive failures now; else 0. */
  readonly value: number;
};

export interface SyncedScope {
  readonly scope: string;
  readonly state: BreakerState;
  readonly ttlMs: number;
  readonly generation: number;
  readonly consecutiveFailures: number;
}

const ACQUIRE_STATES = new Set(['open', 'half_open', 'probe', 'closed']);
const RECORD_RESULTS = new Set(['open', 'closed', 'released', 'stale', 'ignored']);
const BREAKER_STATES = new Set(['open', 'half_open', 'closed']);

/** The breaker's Lua scripts, read once at import. Each file's header states its KEYS, ARGV and replies. */
export const breakerScripts = {
  acquire: loadLuaScript({
    file: new URL('./lua/breaker-acquire-4.lua', import.meta.url),
    keys: ['open', 'tripped', 'probe', 'gen'],
    args: ['token', 'probeLeaseMs'],
    decode(value): AcquireReply {
      const [state, ttl, generation] = reply.array(value, 'breaker-acquire');
      const name = reply.string(state, 'breaker-acquire state');
      if (!ACQUIRE_STATES.has(name)) throw new Error(`breaker-acquire: unexpected state ${name}`);
      return { state: name, ttlMs: reply.integer(ttl, 'breaker-acquire ttl'), generation: reply.integer(generation, 'breaker-acquire gen') } as AcquireReply;
    },
  }),
  record: loadLuaScript({
    file: new URL('./lua/breaker-record-6.lua', import.meta.url),
    keys: ['open', 'tripped', 'probe', 'gen', 'consec', 'active'],
    args: ['outcome', 'token', 'genSeen', 'threshold', 'openMs', 'maxOpenMs', 'scope', 'channel', 'consecTtlMs', 'halfOpenTtlMs'],
    decode(value): RecordReply {
      const [result, generation, detail] = reply.array(value, 'breaker-record');
      const name = reply.string(result, 'breaker-record result');
      if (!RECORD_RESULTS.has(name)) throw new Error(`breaker-record: unexpected result ${name}`);
      return {
        result: name as RecordReply['result'],
        generation: reply.integer(generation, 'breaker-record gen'),
        value: reply.integer(detail, 'breaker-record value'),
      };
    },
  }),
  sync: loadLuaScript({
    file: new URL('./lua/breaker-sync-n.lua', import.meta.url),
    keys: ['active'],
    restKeys: 'scopeKeys',
    args: [],
    restArgs: 'scopes',
    decode(value): SyncedScope[] {
      const flat = reply.array(value, 'breaker-sync');
      const scopes: SyncedScope[] = [];
      for (let i = 0; i + 4 < flat.length; i += 5) {
        const state = reply.string(flat[i + 1], 'breaker-sync state');
        if (!BREAKER_STATES.has(state)) throw new Error(`breaker-sync: unexpected state ${state}`);
        scopes.push({
          scope: reply.string(flat[i], 'breaker-sync scope'),
          state: state as BreakerState,
          ttlMs: reply.integer(flat[i + 2], 'breaker-sync ttl'),
          generation: reply.integer(flat[i + 3], 'breaker-sync gen'),
          consecutiveFailures: reply.integer(flat[i + 4], 'breaker-sync consec'),
        });
      }
      return scopes;
    },
  }),
};

/** Key names of one scope. `prefix` ends with ':' and carries the breaker's hash tag (default BREAKER_KEY_PREFIX). */
export function breakerKeys(prefix: string, scope: string) {
  const base = `${prefix}${scope}:`;
  return {
    open: `${base}open`,
    tripped: `${base}tripped`,
    probe: `${base}probe`,
    gen: `${base}gen`,
    consec: `${base}consec`,
  };
}
