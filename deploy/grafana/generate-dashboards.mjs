// Generates deploy/grafana/dashboards/*.json (dashboards as code; edit here, not the JSON).
//   node deploy/grafana/generate-dashboards.mjs deploy/grafana/dashboards
// test/deploy/grafana.test.ts fails when the committed JSON differs from this script's output, checks every
// query with promtool, and checks every queried metric against a live gateway and worker.
// Panels use the `datasource` variable (default uid `prometheus`, the provisioned datasource): file
// provisioning does not substitute `${DS_PROMETHEUS}` import placeholders.
import { writeFileSync } from 'node:fs';
const ds = { type: 'prometheus', uid: '${datasource}' };
let nextId = 1;
const W = 24;
function target(expr, legendFormat, refId, extra = {}) {
  return { datasource: ds, expr, legendFormat, refId, range: true, ...extra };
}
function panel(type, title, description, gridPos, targets, fieldConfig = {}, options = {}) {
  return {
    id: nextId++,
    type,
    title,
    description,
    datasource: ds,
    gridPos,
    targets: targets.map((t, i) => target(t[0], t[1], String.fromCharCode(65 + i), t[2] ?? {})),
    fieldConfig: { defaults: { ...fieldConfig }, overrides: [] },
    options,
  };
}
function row(title, y) {
  return { id: nextId++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: W, x: 0, y }, panels: [] };
}
const ts = (unit, extra = {}) => ({ unit, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false }, ...extra });
const legend = { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } };
const R = '$__rate_interval';
const datasourceVar = {
  name: 'datasource',
  label: 'Data source',
  type: 'datasource',
  query: 'prometheus',
  current: { text: 'Prometheus', value: 'prometheus' },
  hide: 0,
  refresh: 1,
  regex: '',
  options: [],
};
function queryVar(name, label, query) {
  return {
    name,
    label,
    type: 'query',
    datasource: ds,
    query: { query, refId: `${name}-var` },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: ['All'], value: ['$__all'] },
    sort: 1,
    hide: 0,
    options: [],
    regex: '',
  };
}
function dashboard(uid, title, description, panels, templating, tags) {
  return {
    uid,
    title,
    description,
    tags,
    editable: false,
    graphTooltip: 1,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [],
    templating: { list: templating },
    panels,
  };
}
const q = (p, metric, by, filter = '') => `histogram_quantile(${p}, sum by (le, ${by}) (rate(${metric}_bucket${filter}[${R}])))`;

// ---------------- overview
nextId = 1;
const routeF = '{route=~"$route"}';
const modelF = '{model=~"$model"}';
let y = 0;
const overview = [];
overview.push(row('Traffic, errors and latency per route', y++));
overview.push(
  panel(
    'timeseries',
    'Requests per second by route and status',
    'Rate of finished HTTP requests (streams count when they end).',
    { h: 8, w: 12, x: 0, y },
    [[`sum by (route, status) (rate(gateway_http_request_duration_seconds_count${routeF}[${R}]))`, '{{route}} {{status}}']],
    ts('reqps'),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    '5xx ratio by route',
    'Share of responses with a 5xx status. The GatewayHigh5xxRatio alert fires above 5 % for 5 minutes.',
    { h: 8, w: 12, x: 12, y },
    [
      [
        `sum by (route) (rate(gateway_http_request_duration_seconds_count{route=~"$route", status=~"5.."}[${R}])) / sum by (route) (rate(gateway_http_request_duration_seconds_count${routeF}[${R}]))`,
        '{{route}}',
      ],
      [
        `sum by (route) (rate(gateway_http_request_duration_seconds_count{route=~"$route", status=~"4.."}[${R}])) / sum by (route) (rate(gateway_http_request_duration_seconds_count${routeF}[${R}]))`,
        '{{route}} (4xx)',
      ],
    ],
    ts('percentunit', { min: 0, max: 1 }),
    legend,
  ),
);
y += 8;
overview.push(
  panel(
    'timeseries',
    'Request duration p50 / p95 / p99 by route',
    'Arrival to response end; for streams this is the whole stream.',
    { h: 8, w: 12, x: 0, y },
    [
      [q(0.5, 'gateway_http_request_duration_seconds', 'route', routeF), 'p50 {{route}}'],
      [q(0.95, 'gateway_http_request_duration_seconds', 'route', routeF), 'p95 {{route}}'],
      [q(0.99, 'gateway_http_request_duration_seconds', 'route', routeF), 'p99 {{route}}'],
    ],
    ts('s'),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Requests in flight',
    'Requests received and not finished, open streams included, summed over replicas.',
    { h: 8, w: 12, x: 12, y },
    [
      ['sum by (route) (gateway_http_requests_in_flight)', '{{route}}'],
      ['sum by (instance) (gateway_http_requests_in_flight)', 'replica {{instance}}'],
    ],
    ts('short', { min: 0 }),
    legend,
  ),
);
y += 8;
overview.push(row('Models: time to first token, tokens, backend', y++));
overview.push(
  panel(
    'timeseries',
    'Time to first token p50 / p95 / p99 by model',
    'Request arrival to the first output token sent to the client (OTel gen_ai.server.time_to_first_token).',
    { h: 8, w: 12, x: 0, y },
    [
      [q(0.5, 'gateway_time_to_first_token_seconds', 'model', modelF), 'p50 {{model}}'],
      [q(0.95, 'gateway_time_to_first_token_seconds', 'model', modelF), 'p95 {{model}}'],
      [q(0.99, 'gateway_time_to_first_token_seconds', 'model', modelF), 'p99 {{model}}'],
    ],
    ts('s'),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Output tokens per second of streaming by model',
    'Generation speed seen by clients: output tokens divided by time spent streaming.',
    { h: 8, w: 12, x: 12, y },
    [
      [
        `sum by (model) (rate(gateway_tokens_total{model=~"$model", type="output"}[${R}])) / sum by (model) (rate(gateway_stream_duration_seconds_sum${modelF}[${R}]))`,
        '{{model}}',
      ],
    ],
    ts('short', { min: 0 }),
    legend,
  ),
);
y += 8;
overview.push(
  panel(
    'timeseries',
    'Token throughput by model and type',
    'Tokens per second from backend usage (input, output, reasoning, cached_input).',
    { h: 8, w: 12, x: 0, y },
    [[`sum by (model, type) (rate(gateway_tokens_total${modelF}[${R}]))`, '{{model}} {{type}}']],
    ts('short', { min: 0 }),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Backend latency p95 by model',
    'Backend call start until its answer is complete, by outcome.',
    { h: 8, w: 12, x: 12, y },
    [
      [
        `histogram_quantile(0.95, sum by (le, model, outcome) (rate(gateway_upstream_request_duration_seconds_bucket${modelF}[${R}])))`,
        '{{model}} {{outcome}}',
      ],
    ],
    ts('s'),
    legend,
  ),
);
y += 8;
overview.push(
  panel(
    'timeseries',
    'Backend errors by kind',
    'Failed backend calls per second: http_4xx, http_5xx, timeout, connection, stream_cut, malformed.',
    { h: 8, w: 12, x: 0, y },
    [
      [`sum by (kind) (rate(gateway_upstream_errors_total${modelF}[${R}]))`, '{{kind}}'],
      [`sum by (model) (rate(gateway_upstream_errors_total${modelF}[${R}]))`, 'model {{model}}'],
    ],
    ts('reqps', { min: 0 }),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Streams by final status',
    'Streamed responses per second ending completed, incomplete, failed or aborted (client went away).',
    { h: 8, w: 12, x: 12, y },
    [[`sum by (status) (rate(gateway_stream_duration_seconds_count${modelF}[${R}]))`, '{{status}}']],
    ts('reqps', { min: 0 }),
    legend,
  ),
);
y += 8;
overview.push(row('Resilience: breaker, Redis, model catalogue, store', y++));
const breakerMap = [
  {
    type: 'value',
    options: {
      0: { text: 'closed', color: 'green', index: 0 },
      1: { text: 'open', color: 'red', index: 1 },
      2: { text: 'half-open', color: 'yellow', index: 2 },
    },
  },
];
overview.push(
  panel(
    'state-timeline',
    'Circuit breaker state by scope',
    '0 closed, 1 open, 2 half-open (worst state over replicas). GatewayCircuitBreakerOpen fires after 2 minutes not closed.',
    { h: 8, w: 12, x: 0, y },
    [['max by (scope) (gateway_circuit_breaker_state)', '{{scope}}']],
    {
      mappings: breakerMap,
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'green', value: null },
          { color: 'red', value: 1 },
          { color: 'yellow', value: 2 },
        ],
      },
    },
    { showValue: 'never', mergeValues: true, rowHeight: 0.9, legend: { showLegend: false } },
  ),
);
overview.push(
  panel(
    'timeseries',
    'Circuit breaker transitions',
    'State changes per scope and target state.',
    { h: 8, w: 12, x: 12, y },
    [[`sum by (scope, to) (increase(gateway_circuit_breaker_transitions_total[${R}]))`, '{{scope}} → {{to}}']],
    ts('short', { min: 0, custom: { drawStyle: 'bars', fillOpacity: 60, lineWidth: 1, showPoints: 'never' } }),
    legend,
  ),
);
y += 8;
const redisMap = [
  {
    type: 'value',
    options: {
      '-1': { text: 'embedded (no Redis)', color: 'blue', index: 0 },
      0: { text: 'down: local fallback', color: 'red', index: 1 },
      1: { text: 'connected', color: 'green', index: 2 },
    },
  },
];
overview.push(
  panel(
    'state-timeline',
    'Redis connection by replica',
    '1 connected, 0 unreachable (replica serves from local breaker and model copy), -1 embedded mode.',
    { h: 6, w: 12, x: 0, y },
    [['gateway_redis_up', '{{instance}}']],
    {
      mappings: redisMap,
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'blue', value: null },
          { color: 'red', value: 0 },
          { color: 'green', value: 1 },
        ],
      },
    },
    { showValue: 'never', mergeValues: true, legend: { showLegend: false } },
  ),
);
overview.push(
  panel(
    'timeseries',
    'Model catalogue age and size',
    'Seconds since each replica last loaded the model list (alert above 600 s) and how many models it holds.',
    { h: 6, w: 12, x: 12, y },
    [
      ['max by (instance) (gateway_model_catalog_age_seconds)', 'age {{instance}}'],
      ['max(gateway_model_catalog_models)', 'models'],
    ],
    ts('s', { min: 0 }),
    legend,
  ),
);
y += 6;
overview.push(
  panel(
    'timeseries',
    'Stored-response operations',
    'get / put / delete per second by result (hit, miss, ok, error).',
    { h: 8, w: 12, x: 0, y },
    [[`sum by (operation, result) (rate(gateway_response_store_operations_total[${R}]))`, '{{operation}} {{result}}']],
    ts('ops', { min: 0 }),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Worker model refreshes',
    'Refresh runs by result and time since the last successful refresh (GatewayWorkerNotRefreshing fires above 600 s).',
    { h: 8, w: 12, x: 12, y },
    [
      [`sum by (result) (increase(gateway_worker_model_refresh_runs_total[${R}]))`, 'runs {{result}}'],
      ['time() - max(gateway_worker_model_refresh_last_success_timestamp_seconds)', 'seconds since last success'],
    ],
    ts('short', { min: 0 }),
    legend,
  ),
);
y += 8;
overview.push(row('Replicas', y++));
overview.push(
  panel(
    'timeseries',
    'Event-loop lag p99 by replica',
    'A replica whose event loop lags delays every stream it serves.',
    { h: 7, w: 8, x: 0, y },
    [['max by (instance) (nodejs_eventloop_lag_p99_seconds{job="gateway"})', '{{instance}}']],
    ts('s', { min: 0 }),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'CPU by replica',
    'CPU seconds per second.',
    { h: 7, w: 8, x: 8, y },
    [[`sum by (instance) (rate(process_cpu_seconds_total{job="gateway"}[${R}]))`, '{{instance}}']],
    ts('percentunit', { min: 0 }),
    legend,
  ),
);
overview.push(
  panel(
    'timeseries',
    'Resident memory by replica',
    '',
    { h: 7, w: 8, x: 16, y },
    [['max by (instance) (process_resident_memory_bytes{job="gateway"})', '{{instance}}']],
    ts('bytes', { min: 0 }),
    legend,
  ),
);
y += 7;
overview.push(
  panel(
    'table',
    'Replicas and versions',
    'One row per replica from gateway_build_info.',
    { h: 6, w: W, x: 0, y },
    [['max by (instance, version, mode) (gateway_build_info)', '', { format: 'table', instant: true, range: false }]],
    {},
    { showHeader: true },
  ),
);

const overviewDash = dashboard(
  'rgw-overview',
  'Responses gateway — overview',
  'Traffic, errors and latency per route; time to first token and tokens by model; breaker, Redis, model catalogue and worker health. Metric reference: docs/operations.md.',
  overview,
  [
    datasourceVar,
    queryVar('route', 'Route', 'label_values(gateway_http_request_duration_seconds_count, route)'),
    queryVar('model', 'Model', 'label_values(gateway_tokens_total, model)'),
  ],
  ['responses-gateway'],
);

// ---------------- worker
nextId = 1;
y = 0;
const worker = [];
worker.push(
  panel(
    'stat',
    'Workers up',
    'Worker processes answering scrapes. GatewayWorkerDown fires at 0 for 5 minutes.',
    { h: 5, w: 6, x: 0, y },
    [['sum(up{job="worker"})', 'up']],
    {
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'red', value: null },
          { color: 'green', value: 1 },
        ],
      },
    },
    { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background' },
  ),
);
worker.push(
  panel(
    'stat',
    'Since last successful refresh',
    'GatewayWorkerNotRefreshing fires above 600 s for 5 minutes.',
    { h: 5, w: 6, x: 6, y },
    [['time() - max(gateway_worker_model_refresh_last_success_timestamp_seconds)', 'age']],
    {
      unit: 's',
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'green', value: null },
          { color: 'orange', value: 180 },
          { color: 'red', value: 600 },
        ],
      },
    },
    { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background' },
  ),
);
worker.push(
  panel(
    'stat',
    'Models in the published list',
    '',
    { h: 5, w: 6, x: 12, y },
    [['max(gateway_worker_model_catalog_size)', 'models']],
    {
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'red', value: null },
          { color: 'green', value: 1 },
        ],
      },
    },
    { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
  ),
);
worker.push(
  panel(
    'stat',
    'Failed refreshes (range)',
    'Failed runs over the dashboard time range.',
    { h: 5, w: 6, x: 18, y },
    [['sum(increase(gateway_worker_model_refresh_runs_total{result="failure"}[$__range]))', 'failures']],
    {
      color: { mode: 'thresholds' },
      thresholds: {
        mode: 'absolute',
        steps: [
          { color: 'green', value: null },
          { color: 'orange', value: 1 },
        ],
      },
    },
    { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
  ),
);
y += 5;
worker.push(
  panel(
    'timeseries',
    'Refresh runs by result',
    'Runs per interval: success or failure (a failure keeps the last good list).',
    { h: 8, w: 12, x: 0, y },
    [[`sum by (result) (increase(gateway_worker_model_refresh_runs_total[${R}]))`, '{{result}}']],
    ts('short', { min: 0, custom: { drawStyle: 'bars', fillOpacity: 60, lineWidth: 1, showPoints: 'never' } }),
    legend,
  ),
);
worker.push(
  panel(
    'timeseries',
    'Refresh duration p50 / p95',
    'One model-list fetch, validation and publish.',
    { h: 8, w: 12, x: 12, y },
    [
      [q(0.5, 'gateway_worker_model_refresh_duration_seconds', 'result'), 'p50 {{result}}'],
      [q(0.95, 'gateway_worker_model_refresh_duration_seconds', 'result'), 'p95 {{result}}'],
    ],
    ts('s', { min: 0 }),
    legend,
  ),
);
y += 8;
worker.push(
  panel(
    'timeseries',
    'Model catalogue age on gateway replicas',
    'What the replicas serve from: grows while neither the worker nor a replica refreshes.',
    { h: 8, w: 12, x: 0, y },
    [['max by (instance) (gateway_model_catalog_age_seconds)', '{{instance}}']],
    ts('s', { min: 0 }),
    legend,
  ),
);
worker.push(
  panel(
    'timeseries',
    'Worker memory and CPU',
    '',
    { h: 8, w: 12, x: 12, y },
    [
      ['max by (instance) (process_resident_memory_bytes{job="worker"})', 'rss {{instance}}'],
      [`sum by (instance) (rate(process_cpu_seconds_total{job="worker"}[${R}]))`, 'cpu {{instance}}'],
    ],
    ts('short', { min: 0 }),
    legend,
  ),
);
const workerDash = dashboard(
  'rgw-worker',
  'Responses gateway — model-refresh worker',
  'The worker that refreshes the backend model list into Redis: runs, failures, duration, time since the last success.',
  worker,
  [datasourceVar],
  ['responses-gateway'],
);

const dir = process.argv[2] ?? new URL('./dashboards', import.meta.url).pathname;
writeFileSync(`${dir}/gateway-overview.json`, JSON.stringify(overviewDash, null, 2) + '\n');
writeFileSync(`${dir}/gateway-worker.json`, JSON.stringify(workerDash, null, 2) + '\n');
