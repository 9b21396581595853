import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './load-config.ts';
import { readUpstreamCa } from './read-upstream-ca.ts';

const dir = mkdtempSync(join(tmpdir(), 'rgw-upstream-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readUpstreamCa', () => {
  it('reads the PEM once; unset is undefined', () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(readUpstreamCa(file)?.toString()).toContain('BEGIN CERTIFICATE');
    expect(readUpstreamCa(undefined)).toBeUndefined();
  });

  it('is a start-up error naming the variable for a missing file or one without a certificate', () => {
    expect(() => readUpstreamCa(join(dir, 'missing.pem'))).toThrow(ConfigError);
    expect(() => readUpstreamCa(join(dir, 'missing.pem'))).toThrow(/UPSTREAM_TLS_CA_FILE .*missing\.pem.* cannot be read/);
    const notPem = join(dir, 'key.txt');
    writeFileSync(notPem, 'not a certificate');
    expect(() => readUpstreamCa(notPem)).toThrow(/UPSTREAM_TLS_CA_FILE .* holds no PEM certificate/);
  });
});
