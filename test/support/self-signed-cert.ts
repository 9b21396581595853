import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A self-signed EC P-256 certificate for 127.0.0.1 and localhost (fast to make), written to `dir` as
 * key.pem and cert.pem: a client that trusts cert.pem as its CA trusts the server. Returns their paths.
 */
export async function makeSelfSignedCert(dir: string): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile];
  await run('openssl', [...args, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { timeout: 30_000 });
  return { keyFile, certFile };
}
