import { readdirSync } from 'node:fs';
import { Ajv } from 'ajv';
import { configSchema } from '@rgw/config';
import { workerConfigSchema } from '../../apps/worker/src/worker-config.ts';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/src/gateway-node-flags.ts';
import { readText, readYaml, repositoryPath } from './deploy-files.ts';

// No helm binary is packaged for Debian or npm, so these are the checks that can run offline:
// chart metadata, values against values.schema.json, and the templates' references to values and
// helpers. `helm lint --strict` and `helm template | kubeconform` are documented in docs/operations.md.
const chart = 'deploy/helm/responses-gateway';
const values = readYaml(`${chart}/values.yaml`) as Record<string, unknown>;
const schema = JSON.parse(readText(`${chart}/values.schema.json`)) as Record<string, unknown>;
const templateFiles = [
  ...readdirSync(repositoryPath(`${chart}/templates`)).filter((file) => /\.(ya?ml|tpl|txt)$/.test(file)),
  ...readdirSync(repositoryPath(`${chart}/templates/tests`)).map((file) => `tests/${file}`),
];
const templates = new Map(templateFiles.map((file) => [file, readText(`${chart}/templates/${file}`)]));

function validateValues(candidate: unknown): string[] {
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
  return validate(candidate) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ''}`);
}

function withValue(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(values);
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1) ?? ''] = value;
  return copy;
}

function hasValuePath(path: readonly string[]): boolean {
  let node: unknown = values;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe('Helm chart', () => {
  it('declares a v2 application chart with a semantic version', () => {
    expect(readYaml(`${chart}/Chart.yaml`)).toMatchObject({
      apiVersion: 'v2',
      name: 'responses-gateway',
      type: 'application',
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/) as unknown,
      appVersion: expect.any(String) as unknown,
    });
  });

  it('has a values.schema.json that is valid JSON Schema and accepts the default values.yaml', () => {
    expect(validateValues(values)).toEqual([]);
  });

  it('has a schema that rejects mistakes: unknown keys, a short reasoning key, a bad log level, a non-URL backend', () => {
    expect(validateValues(withValue('gateway.replicas', 3))).not.toEqual([]);
    expect(validateValues(withValue('reasoningEncryption.key', 'too-short'))).not.toEqual([]);
    expect(validateValues(withValue('config.logLevel', 'verbose'))).not.toEqual([]);
    expect(validateValues(withValue('upstream.baseUrl', 'llm.chutes.ai'))).not.toEqual([]);
    expect(validateValues(withValue('reasoningEncryption.key', 'x'.repeat(32)))).toEqual([]);
  });

  it('references only values that values.yaml defines', () => {
    for (const [file, text] of templates) {
      for (const [, path] of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        expect(hasValuePath((path ?? '').slice(1).split('.')), `${file}: .Values${path}`).toBe(true);
      }
    }
  });

  it('includes only helpers that _helpers.tpl defines, and balances every block with an end', () => {
    const helpers = templates.get('_helpers.tpl') ?? '';
    const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map(([, name]) => name));
    for (const [file, text] of templates) {
      for (const [, name] of text.matchAll(/(?:include|template) "([^"]+)"/g)) {
        expect(defined.has(name), `${file}: include "${name}"`).toBe(true);
      }
      const opened = [...text.matchAll(/\{\{-?\s*(if|range|with|define)\b/g)].length;
      const closed = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect(closed, file).toBe(opened);
      expect(text, file).not.toMatch(/\t/);
    }
  });

  it('renders every object the issue asks for', () => {
    const kinds = [...templates.values()].flatMap((text) => [...text.matchAll(/^kind: (\w+)/gm)].map(([, kind]) => kind));
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'ServiceMonitor',
        'PrometheusRule',
        'StatefulSet',
        'ConfigMap',
        'Secret',
      ]),
    );
    expect(templates.get('worker-deployment.yaml')).toContain('command: ["node", "apps/worker/src/main.ts"]');
    // The image's CMD, with the gateway's V8 flags (apps/gateway/src/gateway-node-flags.ts).
    expect(templates.get('gateway-deployment.yaml')).toContain(
      `command: ${JSON.stringify(['node', ...GATEWAY_NODE_FLAGS, 'apps/gateway/src/main.ts']).replaceAll(',', ', ')}`,
    );
  });

  it('probes liveness on /health and readiness on /ready, and sleeps in preStop before the drain', () => {
    const gateway = templates.get('gateway-deployment.yaml') ?? '';
    expect(gateway).toMatch(/livenessProbe:\s+httpGet: \{ path: \/health/);
    expect(gateway).toMatch(/readinessProbe:\s+httpGet: \{ path: \/ready/);
    expect(gateway).toMatch(/preStop:[\s\S]*sleep/);
    expect(gateway).toContain('terminationGracePeriodSeconds: {{ include "rgw.terminationGracePeriodSeconds" . }}');
    expect(templates.get('_helpers.tpl')).toContain('add .Values.gateway.preStopSleepSeconds .Values.config.shutdownGraceSeconds 15');
  });

  it('sets only gateway environment variables its config schema knows', () => {
    const known = Object.keys(configSchema.shape);
    const configMap = templates.get('configmap.yaml') ?? '';
    const names = [...configMap.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map(([, name]) => name ?? '');
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(known).toContain(name);
  });

  it('sets only worker environment variables the worker config schema knows', () => {
    const known = Object.keys(workerConfigSchema.shape);
    const worker = templates.get('worker-deployment.yaml') ?? '';
    const names = [...worker.matchAll(/- name: ([A-Z][A-Z0-9_]+)$/gm)].map(([, name]) => name ?? '');
    expect(names).toEqual(expect.arrayContaining(['WORKER_PORT', 'UPSTREAM_BASE_URL']));
    for (const name of names) expect(known).toContain(name);
  });

  it('gives the worker the same Redis variables, TLS mounts and extraEnv as the gateway', () => {
    const expected = [
      '{{- include "rgw.redisEnv" . | trim | nindent 12 }}',
      '{{- include "rgw.redisTlsVolumeMounts" . | trim | nindent 12 }}',
      '{{- include "rgw.redisTlsVolumes" . | trim | nindent 8 }}',
      '{{- include "rgw.upstreamTlsEnv" . | trim | nindent 12 }}',
      '{{- include "rgw.upstreamTlsVolumeMounts" . | trim | nindent 12 }}',
      '{{- include "rgw.upstreamTlsVolumes" . | trim | nindent 8 }}',
      '{{- with .Values.extraEnv }}',
    ];
    const missing = ['gateway-deployment.yaml', 'worker-deployment.yaml'].flatMap((file) =>
      expected.filter((line) => !(templates.get(file) ?? '').includes(line)).map((line) => `${file}: ${line}`),
    );
    expect(missing).toEqual([]);
    expect(templates.get('worker-deployment.yaml')).toContain('{{- with .Values.worker.extraEnv }}');
  });

  it('sets every Redis mode through variables both config schemas know: URL, Cluster, Sentinel, credentials, TLS files', () => {
    const helpers = templates.get('_helpers.tpl') ?? '';
    const redisEnv = helpers.slice(helpers.indexOf('define "rgw.redisEnv"'), helpers.indexOf('define "rgw.redisTlsVolumeMounts"'));
    const names = [...redisEnv.matchAll(/- name: ([A-Z][A-Z0-9_]+)$/gm)].map(([, name]) => name ?? '');
    expect(new Set(names)).toEqual(
      new Set([
        'REDIS_URL',
        'REDIS_CLUSTER_NODES',
        'REDIS_SENTINELS',
        'REDIS_SENTINEL_MASTER',
        'REDIS_USERNAME',
        'REDIS_PASSWORD',
        'REDIS_SENTINEL_PASSWORD',
        'REDIS_TLS',
        'REDIS_TLS_CA_FILE',
        'REDIS_TLS_CERT_FILE',
        'REDIS_TLS_KEY_FILE',
      ]),
    );
    const unknown = names.filter((name) => !Object.keys(configSchema.shape).includes(name) || !Object.keys(workerConfigSchema.shape).includes(name));
    expect(unknown).toEqual([]);
    // The CA comes from a Secret mounted where REDIS_TLS_CA_FILE points.
    expect(redisEnv).toContain('/etc/redis-tls/ca/ca.crt');
    expect(helpers).toMatch(/mountPath: \/etc\/redis-tls\/ca[\s\S]*secretName: \{\{ \.Values\.redis\.tls\.caSecret \}\}/);
  });

  it('accepts values for an external Redis in each mode, and rejects malformed ones', () => {
    const external = (redis: Record<string, unknown>) => {
      const copy = structuredClone(values) as { redis: Record<string, unknown> };
      copy.redis = { ...copy.redis, enabled: false, ...redis };
      return copy;
    };
    expect(validateValues(external({ url: 'rediss://:pw@cache.example:6380', tls: { enabled: false, caSecret: 'redis-ca', clientCertSecret: '' } }))).toEqual(
      [],
    );
    expect(
      validateValues(
        external({ cluster: { nodes: 'a.example:7000,b.example:7001' }, tls: { enabled: true, caSecret: 'redis-ca', clientCertSecret: 'gw-client' } }),
      ),
    ).toEqual([]);
    expect(validateValues(external({ sentinel: { sentinels: 's1:26379,s2', masterName: 'mymaster' }, auth: { existingSecret: 'redis-auth' } }))).toEqual([]);
    expect(validateValues(external({ cluster: { nodes: 'not a list' } }))).not.toEqual([]);
    expect(validateValues(withValue('redis.maxmemory', 'lots'))).not.toEqual([]);
    expect(validateValues(withValue('redis.persistence.mode', 'forever'))).not.toEqual([]);
    expect(validateValues(withValue('redis.replicaAckTimeoutMs', -1))).not.toEqual([]);
  });

  it('runs the bundled Redis with maxmemory, noeviction and the chosen persistence, and refuses contradicting Redis settings', () => {
    const statefulSet = templates.get('redis-statefulset.yaml') ?? '';
    expect(statefulSet).toContain('"--maxmemory", {{ .Values.redis.maxmemory | quote }}, "--maxmemory-policy", "noeviction"');
    expect(statefulSet).toContain('{{ include "rgw.redisPersistenceArgs" . }}');
    const redis = values['redis'] as { maxmemory: string; persistence: { mode: string } };
    expect(redis.maxmemory).toMatch(/mb$/);
    expect(redis.persistence.mode).toBe('aof');
    const helpers = templates.get('_helpers.tpl') ?? '';
    expect(helpers).toContain('"--appendonly", "yes", "--appendfsync", "everysec"');
    const validate = templates.get('validate.yaml') ?? '';
    expect(validate).toContain('fail "Choose one Redis');
    expect(validate).toContain('redis.sentinel.sentinels needs redis.sentinel.masterName');
  });

  it('requests CPU for the autoscaler and keeps the containers non-root with a read-only root filesystem', () => {
    expect(values).toMatchObject({
      gateway: { resources: { requests: { cpu: expect.any(String) as unknown } }, autoscaling: { enabled: true } },
      podSecurityContext: { runAsNonRoot: true },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
  });

  it('gives the ingress long idle timeouts for SSE and WebSocket mode by default, and sets the WebSocket settings', () => {
    expect(values).toMatchObject({
      gateway: {
        ingress: {
          annotations: {
            'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
            'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
            'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
          },
        },
      },
      config: { websocketEnabled: true, websocketMaxConnectionSeconds: 3600 },
    });
    const configMap = templates.get('configmap.yaml') ?? '';
    for (const name of ['WEBSOCKET_ENABLED', 'WEBSOCKET_MAX_CONNECTION_SECONDS', 'WEBSOCKET_IDLE_TIMEOUT_SECONDS', 'WEBSOCKET_KEEPALIVE_SECONDS']) {
      expect(configMap).toContain(`${name}: {{`);
    }
    expect(validateValues(withValue('config.websocketKeepaliveSeconds', 0))).not.toEqual([]);
  });

  it('sets the stream bounds, and scales on turns in flight per pod only when asked (off by default)', () => {
    const configMap = templates.get('configmap.yaml') ?? '';
    for (const name of ['CLIENT_SEND_TIMEOUT_MS', 'MAX_CONCURRENT_STREAMS']) expect(configMap).toContain(`${name}: {{`);
    expect(values).toMatchObject({
      config: { clientSendTimeoutMs: 30000, maxConcurrentStreams: 0 },
      gateway: { autoscaling: { turnsInFlightAverageValue: null } },
    });
    const hpa = templates.get('gateway-hpa.yaml') ?? '';
    expect(hpa).toMatch(
      /\{\{- with \.Values\.gateway\.autoscaling\.turnsInFlightAverageValue \}\}[\s\S]*name: gateway_turns_in_flight[\s\S]*type: AverageValue[\s\S]*\{\{- end \}\}/,
    );
    expect(validateValues(withValue('gateway.autoscaling.turnsInFlightAverageValue', 80))).toEqual([]);
    expect(validateValues(withValue('gateway.autoscaling.turnsInFlightAverageValue', 0))).not.toEqual([]);
    expect(validateValues(withValue('config.maxConcurrentStreams', -1))).not.toEqual([]);
  });
});
