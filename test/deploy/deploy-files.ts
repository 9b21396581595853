/**
 * Shared helpers for the deploy-artefact checks in test/deploy: where the files are, which external
 * validators are installed, and how to pull metric names out of PromQL.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export function repositoryPath(relative: string): string {
  return `${repositoryRoot}${relative}`;
}

export function readText(relative: string): string {
  return readFileSync(repositoryPath(relative), 'utf8');
}

export function readYaml(relative: string): unknown {
  return parseYaml(readText(relative), { merge: true });
}

/** True when `command` is on PATH (Debian: promtool from `prometheus`, docker-compose, nginx). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

export interface CommandResult {
  readonly status: number | null;
  readonly output: string;
}

export function runCommand(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CommandResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repositoryRoot,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

interface PanelLike {
  readonly title?: string;
  readonly panels?: readonly PanelLike[];
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
}

export const dashboardDirectory = 'deploy/grafana/dashboards';

export function readDashboards(): Array<{ file: string; json: Record<string, unknown> }> {
  return readdirSync(repositoryPath(dashboardDirectory))
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readText(`${dashboardDirectory}/${file}`)) as Record<string, unknown> }));
}

export function collectDashboardQueries(): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (dashboard: string, panels: readonly PanelLike[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string') queries.push({ dashboard, panel: panel.title ?? '', expr: target.expr });
      }
      visit(dashboard, panel.panels ?? []);
    }
  };
  for (const { file, json } of readDashboards()) visit(file, (json['panels'] as PanelLike[] | undefined) ?? []);
  return queries;
}

export const alertRulesFile = 'deploy/prometheus/rules/gateway-alerts.yml';

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function readAlertRules(): AlertRule[] {
  const document = readYaml(alertRulesFile) as { groups: Array<{ rules: AlertRule[] }> };
  return document.groups.flatMap((group) => group.rules);
}

/** Grafana's variables replaced by values PromQL accepts, so the query can be parsed offline. */
export function substituteGrafanaVariables(expr: string): string {
  return expr.replaceAll(/\$__(rate_interval|interval|range)/g, '5m').replaceAll(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '.*');
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * Metric names a PromQL expression selects. Strips strings, label matchers, grouping clauses, ranges and
 * durations, then keeps identifiers that are not function calls or keywords.
 */
export function extractMetricNames(expr: string): string[] {
  const stripped = substituteGrafanaVariables(expr)
    .replaceAll(/"(?:[^"\\]|\\.)*"/g, '""')
    .replaceAll(/\{[^}]*\}/g, ' ')
    .replaceAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replaceAll(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)\b(\s*\()?/g)) {
    const [, name, call] = match;
    if (name === undefined || call !== undefined || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** `# TYPE name kind` lines of a Prometheus text exposition. */
export function readExposedMetricTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) types.set(match[1], match[2]);
  }
  return types;
}

/** Whether a queried series name is exposed: directly, or as a histogram/summary's _bucket/_sum/_count. */
export function isExposed(name: string, types: ReadonlyMap<string, string>): boolean {
  if (types.has(name)) return true;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffix?.[1] === undefined) return false;
  const kind = types.get(suffix[1]);
  return kind === 'histogram' || (kind === 'summary' && suffix[2] !== 'bucket');
}

/**
 * Suffix for the name of a test that needs an external tool: empty when the tool is installed, else
 * says how to install it, so a skipped check is visible in the test report (CI installs them all).
 */
export function skipNote(command: string, debianPackage: string): string {
  if (hasCommand(command)) return '';
  const note = ` [skipped: ${command} not installed; apt-get install ${debianPackage}]`;
  process.stderr.write(`test/deploy:${note}\n`);
  return note;
}
