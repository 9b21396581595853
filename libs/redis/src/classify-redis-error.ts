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
  if (/\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password|AUTH failed|without any password configured/i.test(message)) return 'auth';
  if (TLS_CODES.test(code) || /certificate|self[- ]signed|secure TLS connection|SSL routines|wrong version number/i.test(message)) return 'tls';
  // Redis error codes, anywhere in the message: BullMQ and scripts wrap them ("Failed to add … : OOM …").
  if (/\b(MOVED|ASK) \d+ /.test(message)) return 'moved';
  if (/\bCROSSSLOT\b/.test(message) || /non local key/i.test(message)) return 'crossslot';
  if (/\bREADONLY\b/.test(message)) return 'readonly';
  if (/\bOOM command not allowed\b/.test(message)) return 'oom';
  if (/\bLOADING\b/.test(message)) return 'loading';
  if (/\bCLUSTERDOWN\b/.test(message)) return 'cluster_down';
  if (
    /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|EPIPE|Connection is closed|Stream isn't writeable|closed|unreachable|MASTERDOWN|Failed to refresh slots/i.test(
      `${code} ${message}`,
    )
  )
    return 'connection';
  return 'unknown';
}
