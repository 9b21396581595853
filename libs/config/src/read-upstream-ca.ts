import { readFileSync } from 'node:fs';
import { ConfigError } from './load-config.ts';

/**
 * The PEM of UPSTREAM_TLS_CA_FILE, read once at start (a rotated CA needs a restart, as for Redis);
 * undefined when unset. A file that cannot be read, or holds no certificate, is a start-up error
 * naming the variable, not a TLS failure on the first request.
 */
export function readUpstreamCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: UPSTREAM_TLS_CA_FILE (${file}) cannot be read: ${(error as Error).message}.`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`Invalid configuration: UPSTREAM_TLS_CA_FILE (${file}) holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  }
  return pem;
}
