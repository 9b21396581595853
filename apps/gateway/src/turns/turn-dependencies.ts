import type { CircuitBreaker } from '@rgw/breaker';
import type { ModelCatalog } from '@rgw/model-catalog';
import type { GatewayMetrics } from '@rgw/observability';
import type { BackendProfileOverride } from '@rgw/responses';
import type { UpstreamClient } from '@rgw/upstream';
import type { TurnSlots } from './limit-concurrent-turns.ts';

/** What running a turn needs; the gateway's dependencies provide it (and tests build it). */
export interface TurnDependencies {
  readonly catalog: ModelCatalog;
  readonly breaker: CircuitBreaker;
  readonly upstream: UpstreamClient;
  /** Names the backend in breaker scopes (its host). */
  readonly upstreamName: string;
  readonly metrics: GatewayMetrics;
  readonly createId: (prefix: string) => string;
  /** Unix seconds. */
  readonly now: () => number;
  /** Seals reasoning into `encrypted_content` for stateless clients (Codex, store:false). */
  readonly sealReasoning: (text: string) => string;
  /** Opens a replayed `encrypted_content`; null for a blob that is not ours (tampered, foreign, another key). */
  readonly unsealReasoning: (blob: string) => string | null;
  /** BACKEND_PROFILES: per-model overrides of the detected backend profile. Absent: none. */
  readonly backendProfiles?: readonly BackendProfileOverride[];
  /** The replica's turns in flight and their cap (MAX_CONCURRENT_STREAMS). Absent: not counted, no cap. */
  readonly turnSlots?: TurnSlots;
}
