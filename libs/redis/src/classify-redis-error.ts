/**
 * Why a Redis command failed, in the words an operator acts on. `connection` covers refused, reset
 * and not-yet-connected; the client's last connection error usually says more (see lastRedisError).
 */
export type RedisProblem =
  | 'timeout'
  | 'auth'
  | 'tls'
  | 'moved'
  | 'crossslot'
  | 'readonly'
  | 'oom'
  | 'loading'
  | 'cluster_down'
  | 'cluster_node'
  | 'connection'
  | 'unknown';

const TLS_CODES = /CERT|SSL|TLS|HOSTNAME|ERR_OSSL/;

export function classifyRedisError(error: unknown): RedisProblem {
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  if (/Command timed out|timed out/i.test(message) || code === 'ETIMEDOUT') return 'timeout';
  if (/^(WRONGPASS|NOAUTH|NOPERM)|invalid (username-)?password|AUTH failed|without any password configured/i.test(message)) return 'auth';
  if (TLS_CODES.test(code) || /certificate|self[- ]signed|secure TLS connection|SSL routines|wrong version number/i.test(message)) return 'tls';
  if (/^(MOVED|ASK) /.test(message)) return 'moved';
  if (/^CROSSSLOT/.test(message) || /non local key/i.test(message)) return 'crossslot';
  if (/^READONLY/.test(message)) return 'readonly';
  if (/^OOM /.test(message)) return 'oom';
  if (/^LOADING/.test(message)) return 'loading';
  if (/^CLUSTERDOWN/.test(message)) return 'cluster_down';
  if (
    /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|EPIPE|Connection is closed|Stream isn't writeable|closed|unreachable|MASTERDOWN|Failed to refresh slots/i.test(
      `${code} ${message}`,
    )
  )
    return 'connection';
  return 'unknown';
}
