/**
 * Histogram bucket boundaries, in seconds.
 */

/**
 * OpenTelemetry's advice for `http.server.request.duration`, extended to 5 minutes: a streamed
 * response lasts as long as the model writes, so most of them fall past the OTel 10 s top bucket.
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300];

/**
 * OpenTelemetry GenAI `gen_ai.server.time_to_first_token` advice (0.001 … 10 s), extended with 20, 40
 * and 80 s: reasoning models and cold Chutes deployments routinely take longer than 10 s to the first
 * token, and without those buckets every such request would land in +Inf.
 */
export const TIME_TO_FIRST_TOKEN_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];

/** Whole-stream durations: from sub-second answers to 20-minute reasoning runs. */
export const STREAM_DURATION_BUCKETS: readonly number[] = [0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280];

/** The worker's model-list fetch: a single small HTTP GET, bounded by its timeout. */
export const REFRESH_DURATION_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A stored-response save: a few Redis round trips, plus a replica's acknowledgement (WAIT) when there are replicas; capped by its bound (1 s default). */
export const STORE_SAVE_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
