import { randomBytes } from 'node:crypto';

/** OpenAI-style ids: `resp_`, `msg_`, `rs_`, `fc_`, `call_`… + 48 hex chars (24 random bytes). */
export function createId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}
