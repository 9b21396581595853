/**
 * Shared bits of the multi-process cluster tests: a scripted backend plus a local cluster
 * (Redis + gateway replicas + worker + nginx, scripts/cluster-local.ts) per test file.
 */
import { afterAll, beforeAll } from 'vitest';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../scripts/cluster-local.ts';
import { startScriptedBackend, type ScriptedBackend, type ScriptedBackendOptions } from '../support/scripted-backend.ts';

export const API_KEY = 'sk-cluster-test';

export interface ClusterFixture {
  readonly backend: ScriptedBackend;
  readonly cluster: LocalCluster;
}

export function useCluster(options: { backend?: ScriptedBackendOptions; cluster?: Omit<LocalClusterOptions, 'upstreamBaseUrl'> } = {}): ClusterFixture {
  let backend: ScriptedBackend | undefined;
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    backend = await startScriptedBackend(options.backend);
    cluster = await startLocalCluster({ upstreamBaseUrl: backend.url, ...options.cluster });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await backend?.close();
  }, 60_000);
  return {
    get backend() {
      if (backend === undefined) throw new Error('backend not started');
      return backend;
    },
    get cluster() {
      if (cluster === undefined) throw new Error('cluster not started');
      return cluster;
    },
  };
}

/** POST /v1/responses (non-streaming) to `baseUrl` (a replica's or nginx's url); `extra` adds body fields (store, previous_response_id…). */
export async function createResponse(
  baseUrl: string,
  model: string,
  input = 'hi',
  extra: Record<string, unknown> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input, ...extra }),
  });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}

export async function listModelIds(baseUrl: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const body = (await response.json()) as { data?: { id: string }[] };
  return (body.data ?? []).map((model) => model.id).sort();
}
