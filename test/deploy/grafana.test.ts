import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  collectDashboardQueries,
  dashboardDirectory,
  extractMetricNames,
  hasCommand,
  readDashboards,
  readText,
  readYaml,
  runCommand,
  substituteGrafanaVariables,
  skipNote,
} from './deploy-files.ts';

const hasPromtool = hasCommand('promtool');
const promtoolNote = skipNote('promtool', 'prometheus');
const provisionedDatasource = (readYaml('deploy/grafana/provisioning/datasources/prometheus.yaml') as { datasources: Array<{ uid: string; type: string }> })
  .datasources[0];

interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  panels?: Panel[];
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

describe('Grafana dashboards', () => {
  const dashboards = readDashboards();

  it('are exactly what deploy/grafana/generate-dashboards.mjs generates (edit the generator, not the JSON)', () => {
    const directory = mkdtempSync(join(tmpdir(), 'dashboards-generated-'));
    try {
      const result = runCommand(process.execPath, ['deploy/grafana/generate-dashboards.mjs', directory]);
      expect(result.status, `${result.output}`).toBe(0);
      for (const { file } of dashboards) {
        expect(readFileSync(join(directory, file), 'utf8'), `${file}`).toBe(readText(`${dashboardDirectory}/${file}`));
      }
      expect(readdirSync(directory).sort()).toEqual(dashboards.map(({ file }) => file).sort());
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('have unique uids and titles', () => {
    const uids = dashboards.map(({ json }) => json['uid']);
    expect(new Set(uids).size).toBe(dashboards.length);
    expect(dashboards.length).toBeGreaterThanOrEqual(2);
  });

  it('query through a datasource variable that defaults to the provisioned Prometheus uid', () => {
    expect(provisionedDatasource).toMatchObject({ uid: 'prometheus', type: 'prometheus' });
    for (const { file, json } of dashboards) {
      const variables = (json['templating'] as { list: Array<{ name: string; type: string; current?: { value?: string } }> }).list;
      expect(
        variables.find((variable) => variable.name === 'datasource'),
        `${file}`,
      ).toMatchObject({
        type: 'datasource',
        current: { value: provisionedDatasource?.uid },
      });
      for (const panel of allPanels(json['panels'] as Panel[]).filter((entry) => entry.type !== 'row')) {
        expect(panel.datasource, `${file}: ${panel.title}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
      // Import placeholders stay literal under file provisioning (grafana/grafana#10786).
      expect(JSON.stringify(json)).not.toContain('DS_PROMETHEUS');
    }
  });

  it('show traffic, errors and latency per route, TTFT percentiles and tokens by model, breaker, catalogue age, Redis and worker refreshes', () => {
    const queried = new Set(collectDashboardQueries().flatMap((query) => extractMetricNames(query.expr)));
    for (const name of [
      'gateway_http_request_duration_seconds_count',
      'gateway_http_request_duration_seconds_bucket',
      'gateway_time_to_first_token_seconds_bucket',
      'gateway_tokens_total',
      'gateway_circuit_breaker_state',
      'gateway_model_catalog_age_seconds',
      'gateway_redis_up',
      'gateway_worker_model_refresh_runs_total',
      'gateway_worker_model_refresh_last_success_timestamp_seconds',
    ]) {
      expect(queried, `${name}`).toContain(name);
    }
    const ttft = collectDashboardQueries().filter((query) => query.expr.includes('gateway_time_to_first_token_seconds_bucket'));
    expect(ttft.map((query) => /histogram_quantile\(([\d.]+)/.exec(query.expr)?.[1] ?? `no quantile in ${query.expr}`).sort()).toEqual(['0.5', '0.95', '0.99']);
  });

  it.skipIf(!hasPromtool)(`contain only queries that parse as PromQL (checked by promtool)${promtoolNote}`, () => {
    const queries = collectDashboardQueries();
    const directory = mkdtempSync(join(tmpdir(), 'dashboards-promql-'));
    try {
      const rules = {
        groups: [
          {
            name: 'dashboard-queries',
            rules: queries.map((query, index) => ({ record: `dashboard_query_${index}`, expr: substituteGrafanaVariables(query.expr) })),
          },
        ],
      };
      writeFileSync(join(directory, 'queries.yml'), stringify(rules));
      const result = runCommand('promtool', ['check', 'rules', join(directory, 'queries.yml')]);
      expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
