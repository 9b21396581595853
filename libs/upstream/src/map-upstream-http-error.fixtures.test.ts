/**
 * Error bodies as the backends send them (src/__fixtures__/error-bodies, each naming its source),
 * mapped to what a client of the gateway reads: the backend's status mapped as ever, its own words
 * as the message, never the raw JSON or HTML, and a 404 that is not about a model reported as the
 * wrong backend URL it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mapUpstreamHttpError, type UpstreamRequestContext } from './map-upstream-http-error.ts';

interface ErrorBodyFixture {
  readonly source: string;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const directory = new URL('./__fixtures__/error-bodies/', import.meta.url);

function loadFixture(name: string): ErrorBodyFixture {
  const text = readFileSync(new URL(`${name}.txt`, directory), 'utf8');
  const split = text.indexOf('\n\n');
  const header = new Map<string, string>();
  for (const line of text.slice(0, split).split('\n')) {
    const match = /^# ([a-z-]+): (.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) header.set(match[1], match[2]);
  }
  return {
    source: header.get('source') ?? '',
    status: Number(header.get('status')),
    contentType: header.get('content-type') ?? '',
    body: text.slice(split + 2).replace(/\n$/, ''),
  };
}

const chat: UpstreamRequestContext = { method: 'POST', path: '/v1/chat/completions', kind: 'chat' };

/** What a client must see for each fixture: status, code, and words of the backend's message. */
const expected: Record<string, { status: number; code: string | null; message: RegExp }> = {
  'openai-invalid-api-key': { status: 401, code: 'invalid_api_key', message: /^Incorrect API key provided/ },
  'vllm-model-not-found-legacy': { status: 404, code: 'model_not_found', message: /^The model `org\/missing-model` does not exist\.$/ },
  'vllm-context-length': { status: 400, code: 'context_length_exceeded', message: /^This model's maximum context length is 4096 tokens/ },
  'sglang-context-length': { status: 400, code: 'context_length_exceeded', message: /longer than the model's context length/ },
  'ollama-model-not-found': { status: 404, code: 'model_not_found', message: /^model "llama9:70b" not found, try pulling it first$/ },
  'ollama-native-error': { status: 502, code: 'upstream_error', message: /llama runner process has terminated: exit status 2$/ },
  'ollama-unknown-route': {
    status: 404,
    code: 'upstream_not_found',
    message: /has no POST \/v1\/chat\/completions \(HTTP 404: 404 page not found\)\. Check UPSTREAM_BASE_URL/,
  },
  'fastapi-unknown-route': {
    status: 404,
    code: 'upstream_not_found',
    message: /has no POST \/v1\/chat\/completions \(HTTP 404: Not Found\)\. Check UPSTREAM_BASE_URL/,
  },
  'fastapi-validation-error': {
    status: 422,
    code: null,
    message: /^The backend refused the request: body\.messages: Field required; body\.temperature: Input should be a valid number/,
  },
  'chutes-invalid-token': { status: 401, code: 'invalid_api_key', message: /^Invalid token\.$/ },
  'chutes-unknown-key': { status: 401, code: 'invalid_api_key', message: /^Can't find a user with that api key in our db :\($/ },
  'chutes-no-matching-chute': { status: 404, code: 'model_not_found', message: /^No matching chute found!$/ },
  'chutes-balance': { status: 402, code: null, message: /^Quota exceeded and account balance is \$0\.0/ },
  'chutes-sglang-error-as-detail': { status: 400, code: 'context_length_exceeded', message: /longer than the model's context length \(131072 tokens\)/ },
  'chutes-no-instances': { status: 502, code: 'upstream_error', message: /No instances available \(yet\) for chute_id=/ },
  'nginx-bad-gateway': { status: 502, code: 'upstream_error', message: /^Backend error \(HTTP 502\): 502 Bad Gateway$/ },
  'uvicorn-internal-error': { status: 502, code: 'upstream_error', message: /^Backend error \(HTTP 500\): Internal Server Error$/ },
  'kong-no-route': { status: 404, code: 'upstream_not_found', message: /\(HTTP 404: no Route matched with those values\)/ },
  'proxy-wrapped-detail': { status: 401, code: 'invalid_api_key', message: /^Invalid token\.$/ },
};

const names = readdirSync(directory)
  .filter((file) => file.endsWith('.txt'))
  .map((file) => file.slice(0, -'.txt'.length))
  .sort();

describe('backend error bodies, as the backends send them', () => {
  it('has an expectation for every fixture, and every fixture names its source', () => {
    expect(names).toEqual(Object.keys(expected).sort());
    expect(names.filter((name) => !/\S{6,}/.test(loadFixture(name).source))).toEqual([]);
  });

  it.each(names)('%s: mapped status and code, the backend’s words, never its raw body', (name) => {
    const fixture = loadFixture(name);
    const error = mapUpstreamHttpError(fixture.status, fixture.body, { 'content-type': fixture.contentType }, chat);
    const want = expected[name]!;
    expect({ status: error.status, code: error.code }).toEqual({ status: want.status, code: want.code });
    expect(error.message).toMatch(want.message);
    // Readable: no JSON punctuation of the body, no markup.
    expect(error.message).not.toMatch(/[{}]|"detail"|"error"|<\/?[a-z]+>/i);
  });
});

describe('a 404 from the backend', () => {
  const notFound = (context: UpstreamRequestContext) => mapUpstreamHttpError(404, loadFixture('vllm-model-not-found-legacy').body, {}, context);

  it('about a model stays model_not_found on the chat path', () => {
    expect(notFound(chat).code).toBe('model_not_found');
  });

  it('is the URL when the model list answered 404 as well, even if the body names a model', () => {
    const error = notFound({ ...chat, modelListMissing: true });
    expect(error.code).toBe('upstream_not_found');
    expect(error.param).toBeNull();
  });

  it('on GET /models is always the URL, naming the path and the host', () => {
    const error = mapUpstreamHttpError(404, '{"detail":"Not Found"}', {}, { method: 'GET', path: '/models', kind: 'models', host: 'llm.example.com' });
    expect(error.status).toBe(404);
    expect(error.code).toBe('upstream_not_found');
    expect(error.message).toMatch(/^The backend at llm\.example\.com has no GET \/models \(HTTP 404: Not Found\)\. Check UPSTREAM_BASE_URL/);
  });
});
