import { describe, expect, it } from 'vitest';
import { alertRulesFile, hasCommand, readAlertRules, readText, runCommand, skipNote } from './deploy-files.ts';

const hasPromtool = hasCommand('promtool');
const promtoolNote = skipNote('promtool', 'prometheus');
const helmRulesCopy = 'deploy/helm/responses-gateway/files/gateway-alerts.yml';

describe('Prometheus configuration and alert rules', () => {
  it.skipIf(!hasPromtool)(`passes promtool check config${promtoolNote}`, () => {
    const result = runCommand('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it.skipIf(!hasPromtool)(`passes promtool check rules${promtoolNote}`, () => {
    const result = runCommand('promtool', ['check', 'rules', alertRulesFile]);
    expect(result.status, `${result.output}`).toBe(0);
  });

  it.skipIf(!hasPromtool)(
    `passes its alert unit tests (promtool test rules): each alert fires on its pattern and not on the healthy one${promtoolNote}`,
    () => {
      const result = runCommand('promtool', ['test', 'rules', 'deploy/prometheus/tests/gateway-alerts.test.yml']);
      expect(result.status, `${result.output}`).toBe(0);
    },
  );

  it('alerts on an open breaker, a high 5xx ratio, a stale catalogue, Redis fallback and a worker that stopped refreshing', () => {
    const byName = new Map(readAlertRules().map((rule) => [rule.alert, rule.expr]));
    expect(byName.get('GatewayCircuitBreakerOpen')).toContain('gateway_circuit_breaker_state');
    expect(byName.get('GatewayHigh5xxRatio')).toContain('status=~"5.."');
    expect(byName.get('GatewayModelCatalogStale')).toContain('gateway_model_catalog_age_seconds');
    expect(byName.get('GatewayRedisFallback')).toContain('gateway_redis_up == 0');
    expect(byName.get('GatewayWorkerNotRefreshing')).toContain('gateway_worker_model_refresh_last_success_timestamp_seconds');
    expect(byName.get('GatewayWorkerDown')).toContain('up{job="worker"}');
  });

  it('gives every alert a severity, a summary and a runbook section that exists in docs/operations.md', () => {
    const operations = readText('docs/operations.md');
    const anchors = new Set(
      [...operations.matchAll(/^#+\s+(.+)$/gm)].map(([, heading]) =>
        (heading ?? '')
          .toLowerCase()
          .replaceAll(/[^a-z0-9 -]/g, '')
          .trim()
          .replaceAll(' ', '-'),
      ),
    );
    for (const rule of readAlertRules()) {
      expect(['warning', 'critical'], `${rule.alert}`).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary'], `${rule.alert}`).toBeTruthy();
      const anchor = /^docs\/operations\.md#(.+)$/.exec(rule.annotations?.['runbook'] ?? '')?.[1];
      expect(anchor, `${rule.alert} runbook`).toBeDefined();
      expect(anchors.has(anchor ?? ''), `${rule.alert} runbook anchor #${anchor}`).toBe(true);
    }
  });

  it('ships the same rules in the Helm chart as in the compose Prometheus', () => {
    expect(readText(helmRulesCopy)).toBe(readText(alertRulesFile));
  });
});
