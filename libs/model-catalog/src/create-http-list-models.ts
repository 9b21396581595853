import { request, type Dispatcher } from 'undici';
import type { ListModels } from './model-catalog.ts';
import { parseModelList } from './model-list-schema.ts';

export interface HttpListModelsOptions {
  /** e.g. https://llm.chutes.ai/v1 (the backend's OpenAI base URL, /models is appended). */
  baseUrl: string;
  /** Sent as Bearer when set. Chutes lists models without a key. */
  apiKey?: string;
  /** Time to headers and between body chunks, ms (default 30 000). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** `ListModels` over plain HTTP, for the worker (the gateway uses its upstream client instead). */
export function createHttpListModels(options: HttpListModelsOptions): ListModels {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/models`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (signal) => {
    const response = await request(url, {
      method: 'GET',
      headers: {
        accept: 'application/json',
        ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
      },
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`GET ${url} answered ${response.statusCode}`);
    }
    return parseModelList(await response.body.json());
  };
}
