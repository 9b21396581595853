export { createLogger } from './create-logger.ts';
export type { CreateLoggerOptions } from './create-logger.ts';
export { redactSecrets, REDACTED } from './redact-secrets.ts';
export { serializeError } from './serialize-error.ts';
export { createHttpLogger } from './create-http-logger.ts';
export type { RequestLogFields } from './create-http-logger.ts';
export { resolveRequestId, REQUEST_ID_PATTERN } from './request-id.ts';
export { readRouteLabel } from './route-label.ts';
export { createGatewayMetrics } from './gateway-metrics.ts';
export type { CreateGatewayMetricsOptions, GatewayMetrics } from './gateway-metrics.ts';
export { createWorkerMetrics } from './worker-metrics.ts';
export type { WorkerMetrics } from './worker-metrics.ts';
export { createHttpMetricsMiddleware } from './http-metrics-middleware.ts';
export type { HttpMetricsOptions } from './http-metrics-middleware.ts';
export { OTHER_MODEL_LABEL } from './other-model-label.ts';
export {
  HTTP_DURATION_BUCKETS,
  STREAM_DURATION_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  REFRESH_DURATION_BUCKETS,
} from './metric-buckets.ts';
export { createFailureReporter, describeFailure } from './create-failure-reporter.ts';
export type { FailureReporter, FailureReporterOptions } from './create-failure-reporter.ts';
