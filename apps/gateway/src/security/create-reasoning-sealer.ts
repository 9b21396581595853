import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface ReasoningSealer {
  /** Raw reasoning → opaque `encrypted_content` (AES-256-GCM, versioned, base64url). */
  seal(text: string): string;
  /** The reverse; null for blobs that are foreign, tampered with or sealed under another key. */
  unseal(blob: string): string | null;
}

const VERSION = 'gw1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals reasoning so clients that keep no server state (Codex with store:false) can hand it back on
 * the next turn, to any replica holding the same key. Authenticated: a changed byte fails to open.
 * `secrets`: the current key first, then previous keys (a rotation): blobs are sealed with the
 * current one and opened with any, so what clients hold from before the rotation still opens.
 */
export function createReasoningSealer(secrets: string | readonly string[]): ReasoningSealer {
  // Domain-separated derivation: the same secret also keys the owners of stored responses.
  const keys = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) =>
    createHash('sha256').update(`responses-gateway/reasoning/v1\0${secret}`).digest(),
  );
  const [key] = keys;
  if (key === undefined) throw new Error('createReasoningSealer needs a secret');
  return {
    seal(text) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(VERSION));
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    unseal(blob) {
      if (!blob.startsWith(`${VERSION}.`)) return null;
      const raw = Buffer.from(blob.slice(VERSION.length + 1), 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) return null;
      // GCM authenticates: only the key that sealed it opens it, so trying each key is safe (and cheap: rotations keep few).
      for (const candidate of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', candidate, raw.subarray(0, IV_BYTES));
          decipher.setAAD(Buffer.from(VERSION));
          decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
          return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
        } catch {
          // Not this key (or tampered): try the next.
        }
      }
      return null;
    },
  };
}
