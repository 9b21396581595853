/**
 * Runs the public Open Responses compliance suite (openresponses/openresponses, `bin/compliance-test.ts`)
 * against the gateway with the scripted backend as its model: embedded mode (one process), or
 * `--cluster` (two replicas sharing Redis behind nginx, scripts/cluster-local.ts). The suite is not part
 * of this repository: bring a copy (docs/websocket-mode.md says how) with `tsx` and the zod version its
 * `bun.lock` pins installed in it, and pass its folder.
 *
 *   node scripts/node24.mjs scripts/open-responses-compliance.ts --suite ../scratch-openresponses [--cluster] [--verbose]
 *
 * Prints the suite's own report and exits with its status (0 when every test passed).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalCluster } from './cluster-local.ts';
import {
  DEFAULT_MODEL_ID,
  type ReceivedRequest,
  type BackendScript,
  startScriptedBackend,
  textAnswer,
  toolCallAnswer,
} from '../test/support/scripted-backend.ts';
import { startGateway } from '../test/support/start-gateway.ts';

const API_KEY = 'sk-open-responses-compliance';

const { values } = parseArgs({
  options: { suite: { type: 'string' }, cluster: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false } },
});
const suite = resolve(values.suite ?? '');
const tsx = join(suite, 'node_modules/.bin/tsx');
if (!values.suite || !existsSync(join(suite, 'bin/compliance-test.ts')) || !existsSync(tsx)) {
  process.stderr.write('usage: open-responses-compliance.ts --suite <copy of openresponses/openresponses with tsx and zod installed> [--cluster]\n');
  process.exit(2);
}

/** A model that does what each test asks: call the tool when tools are offered, summarise when asked, answer otherwise. */
function answer(request: ReceivedRequest): BackendScript {
  const messages = request.body?.messages ?? [];
  const last = messages.at(-1);
  const lastText = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  if (lastText.includes('CONTEXT CHECKPOINT COMPACTION')) return textAnswer('Summary: launch on Tuesday; notify support first.');
  const tools = request.body?.tools ?? [];
  const toolChoice = request.body?.tool_choice;
  if (tools.length > 0 && toolChoice !== 'none' && last?.role === 'user') {
    const name = (tools[0] as { function: { name: string } }).function.name;
    return toolCallAnswer([{ id: 'call_compliance_1', name, arguments: JSON.stringify({ location: 'San Francisco, CA' }) }]);
  }
  return textAnswer('1, 2, 3. Done.');
}

const backend = await startScriptedBackend();
backend.setHandler(answer);
const stops: (() => Promise<unknown>)[] = [() => backend.close()];
let baseURL: string;
if (values.cluster) {
  const cluster = await startLocalCluster({ upstreamBaseUrl: backend.url, replicas: 2 });
  stops.unshift(() => cluster.stop());
  baseURL = cluster.baseURL;
} else {
  const gateway = await startGateway({ env: { UPSTREAM_BASE_URL: backend.url } });
  stops.unshift(() => gateway.stop());
  baseURL = gateway.baseURL;
}

process.stdout.write(`Open Responses suite (${suite}) against ${values.cluster ? 'two replicas behind nginx' : 'the embedded gateway'} at ${baseURL}\n`);
const code = await new Promise<number>((resolveExit) => {
  const child = spawn(
    tsx,
    ['bin/compliance-test.ts', '--base-url', baseURL, '--api-key', API_KEY, '--model', DEFAULT_MODEL_ID, ...(values.verbose ? ['--verbose'] : [])],
    {
      cwd: suite,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  child.on('exit', (exitCode) => resolveExit(exitCode ?? 1));
});
for (const stop of stops) await stop().catch(() => undefined);
process.exit(code);
