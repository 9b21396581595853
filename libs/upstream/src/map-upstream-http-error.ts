import {
  AuthenticationError,
  type GatewayError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UpstreamClientError,
  UpstreamError,
  UpstreamTimeoutError,
} from '@rgw/errors';
import { redactSecrets } from '@rgw/observability';
import { mapChatBackendError, parseChatBackendError } from '@rgw/responses';

/** Which backend call answered: names the path in a "wrong URL" message. */
export interface UpstreamRequestContext {
  readonly method: 'GET' | 'POST';
  /** The path as sent, e.g. `/v1/chat/completions` (no origin, no query). */
  readonly path: string;
  /** `models`: a 404 can only mean a wrong URL; `chat`: it may be an unknown model. */
  readonly kind: 'chat' | 'models';
  /** The backend's model list answered 404 too: then a chat 404 is the URL, whatever its body says. */
  readonly modelListMissing?: boolean;
}

/** Longest backend wording we pass on, characters. */
const MAX_MESSAGE_CHARS = 500;

/** The backend's own wording and the Responses code it maps to, whatever error shape it used. */
function readUpstreamError(body: string): { message: string; code: string | null } {
  const text = body.trim();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: an HTML error page from a proxy, or plain text (uvicorn's "Internal Server Error", gin's "404 page not found").
    return { message: looksLikeHtml(text) ? readHtml(text) : collapse(text), code: null };
  }
  const backendError = parseChatBackendError(json);
  if (backendError !== null) return { message: collapse(backendError.message), code: mapChatBackendError(backendError).code };
  return { message: describeJson(json), code: null };
}

function looksLikeHtml(text: string): boolean {
  return /^<(!doctype|html|head|body|center|h1|p|div)\b/i.test(text) || /<\/(html|body|title)>/i.test(text);
}

/** An error page's title ("502 Bad Gateway"), else its text without tags. */
function readHtml(html: string): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const text = title ?? html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  return collapse(decodeEntities(text));
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  return text.replace(/&(#\d+|#x[\da-f]+|[a-z]+);/gi, (entity, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return named[name.toLowerCase()] ?? entity;
  });
}

/** A JSON body in no known error shape, as `key: value` pairs rather than raw JSON. */
function describeJson(json: unknown): string {
  if (typeof json === 'string' || typeof json === 'number' || typeof json === 'boolean') return collapse(String(json));
  if (typeof json !== 'object' || json === null) return '';
  const pairs = Object.entries(json)
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    .map(([key, value]) => `${key}: ${String(value)}`);
  return collapse(pairs.join(', '));
}

function collapse(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}

/** Headers worth passing back to our client with a backend error. */
function retryHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['retry-after', 'retry-after-ms']) {
    const value = headers[name];
    const first = Array.isArray(value) ? value[0] : value;
    // Only plain numbers or HTTP dates: a header value is echoed to our client.
    if (first !== undefined && /^[\w ,:.+-]{1,64}$/.test(first)) kept[name] = first;
  }
  return kept;
}

/**
 * A 404 names an unknown model when the backend says so (vLLM "The model `x` does not exist.", Ollama
 * "model \"x\" not found", Chutes "No matching chute found!", OpenAI `model_not_found`). Anything else
 * ("Not Found", "404 page not found", "no Route matched") is a path the backend does not serve.
 */
function isAboutModel(message: string, code: string | null): boolean {
  return /\b(models?|chutes?|deployments?|lora)\b/i.test(`${message} ${code ?? ''}`);
}

function urlProblem(request: UpstreamRequestContext, status: number, message: string, host: string | undefined): NotFoundError {
  const said = message === '' ? '' : `: ${message}`;
  const where = host === undefined ? '' : ` at ${host}`;
  return new NotFoundError(
    `The backend${where} has no ${request.method} ${request.path} (HTTP ${status}${said}). Check UPSTREAM_BASE_URL: it must be the backend's OpenAI-compatible base URL, usually ending in /v1 (e.g. https://llm.chutes.ai/v1, http://localhost:11434/v1).`,
    { code: 'upstream_not_found', param: null },
  );
}

/**
 * One place that maps a backend's non-2xx answer to our error family. 4xx keep their status and
 * message (a client problem, never a breaker failure); 5xx become 502 and 504 stays 504. The message
 * is the backend's own wording, read from whatever shape it used, never its raw body. A 404 that is
 * not about a model is reported as the wrong backend URL it almost always is, naming the path.
 */
export function mapUpstreamHttpError(
  status: number,
  body: string,
  headers: Readonly<Record<string, string | string[] | undefined>> = {},
  request?: UpstreamRequestContext & { readonly host?: string },
): GatewayError {
  const upstreamError = readUpstreamError(body);
  const backendWords = redactSecrets(upstreamError.message);
  const message = backendWords || `Backend answered HTTP ${status}.`;
  const extraHeaders = retryHeaders(headers);
  if (upstreamError.code === 'context_length_exceeded' && status < 500) {
    return new InvalidRequestError(message, { code: 'context_length_exceeded', param: 'input' });
  }
  switch (status) {
    case 400:
      return new InvalidRequestError(message);
    case 401:
      return new AuthenticationError(message, { code: 'invalid_api_key' });
    case 403:
      return new PermissionDeniedError(message);
    case 404:
      if (request !== undefined && (request.kind === 'models' || request.modelListMissing === true || !isAboutModel(backendWords, upstreamError.code))) {
        return urlProblem(request, status, backendWords, request.host);
      }
      return new NotFoundError(message, { code: 'model_not_found', param: 'model' });
    case 429:
      return new RateLimitError(message, { code: 'rate_limit_exceeded', headers: extraHeaders });
    case 504:
      return new UpstreamTimeoutError(`Backend timed out: ${message}`, { code: 'upstream_timeout' });
    default:
      if (status >= 400 && status < 500) return new UpstreamClientError(status, message);
      return new UpstreamError(`Backend error (HTTP ${status}): ${message}`, { code: 'upstream_error', headers: extraHeaders });
  }
}
