import type { BackendProfile } from '../backend-profile.ts';
import type { ResponseContext, ToolNameEntry } from '../converter-contract.ts';
import { parseResponsesRequest } from '../responses-request-schema.ts';

export interface TestContextOptions {
  readonly request?: Record<string, unknown>;
  readonly toolNames?: Record<string, ToolNameEntry>;
  readonly sealReasoning?: (reasoningText: string) => string;
  readonly backendProfile?: BackendProfile;
}

/** A deterministic context: ids `<prefix>_1`, `<prefix>_2`, …; clock fixed at 1769100000 + 5 s. */
export function createTestContext(options: TestContextOptions = {}): ResponseContext {
  const counters = new Map<string, number>();
  return {
    responseId: 'resp_test',
    createdAt: 1769100000,
    request: parseResponsesRequest({ model: 'test-model', input: 'hi', ...options.request }),
    model: 'test-model',
    toolNames: new Map(Object.entries(options.toolNames ?? {})),
    createId: (prefix) => {
      const next = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, next);
      return `${prefix}_${next}`;
    },
    now: () => 1769100005,
    ...(options.sealReasoning ? { sealReasoning: options.sealReasoning } : {}),
    ...(options.backendProfile ? { backendProfile: options.backendProfile } : {}),
  };
}
