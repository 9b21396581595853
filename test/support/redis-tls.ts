/**
 * A real TLS Redis for tests (never a mock), with certificates made by `openssl` at test time: a
 * private CA, a server certificate it signed (IP 127.0.0.1, DNS localhost), a client certificate for
 * mutual TLS, and a second, untrusted CA with its own server certificate. The server listens on a
 * TLS port (what the gateway uses) and a plain localhost port (what the test uses to reconfigure it).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnOnFreePorts, spawnRedisServer, stopChild, TEST_SERVER_ARGS } from './redis-server.ts';
import { redisCli } from './redis-cli.ts';

const run = promisify(execFile);

export interface TestTlsRedis {
  /** `rediss://127.0.0.1:<tls port>`. */
  readonly url: string;
  readonly tlsPort: number;
  /** Plain TCP on 127.0.0.1, for the test's own commands. */
  readonly plainPort: number;
  /** PEM files: the CA that signed the server certificate, a client certificate and key it signed, and a CA nothing here trusts. */
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly untrustedCaFile: string;
  /** Serve a certificate signed by the untrusted CA (CONFIG SET tls-cert-file) and drop every client, so they reconnect and check it. */
  serveUntrustedCertificate(): Promise<void>;
  /** Back to the certificate the private CA signed. */
  serveTrustedCertificate(): Promise<void>;
  cli(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface StartTlsRedisOptions {
  /** `tls-auth-clients yes`: clients must present a certificate the CA signed (default true). */
  readonly mutual?: boolean;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await run('openssl', [...args], { cwd, timeout: 30_000 });
}

/** A CA (EC P-256: fast to make) and a server certificate it signs for 127.0.0.1 / localhost. */
async function makeCertificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const ca of ['ca', 'untrusted-ca']) {
    await openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=rgw test ${ca}`], dir);
  }
  const sign = async (name: string, ca: string, ext: string, subject: string) => {
    await openssl(['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        ext,
      ],
      dir,
    );
  };
  await sign('server', 'ca', 'server.ext', '/CN=localhost');
  await sign('untrusted-server', 'untrusted-ca', 'server.ext', '/CN=localhost');
  await sign('client', 'ca', 'client.ext', '/CN=rgw test client');
}

export async function startTlsRedis(options: StartTlsRedisOptions = {}): Promise<TestTlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'rgw-redis-tls-'));
  let child: ChildProcess | undefined;
  try {
    await makeCertificates(dir);
    const file = (name: string) => join(dir, name);
    const [tlsPort, plainPort, started] = await spawnOnFreePorts(
      2,
      async ([tlsPort = 0, plainPort = 0]) =>
        [
          tlsPort,
          plainPort,
          await spawnRedisServer(
            tlsPort,
            [
              '--port',
              String(plainPort),
              '--tls-port',
              String(tlsPort),
              '--bind',
              '127.0.0.1',
              '--tls-cert-file',
              file('server.crt'),
              '--tls-key-file',
              file('server.key'),
              '--tls-ca-cert-file',
              file('ca.crt'),
              '--tls-auth-clients',
              (options.mutual ?? true) ? 'yes' : 'no',
              ...TEST_SERVER_ARGS,
            ],
            { tls: { ca: readFileSync(file('ca.crt')), cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) } },
          ),
        ] as const,
    );
    child = started;
    const running = started;
    const cli = (args: readonly string[]) => redisCli(plainPort, args);
    const serve = async (name: string) => {
      await cli(['config', 'set', 'tls-cert-file', file(`${name}.crt`), 'tls-key-file', file(`${name}.key`)]);
      // Established connections keep the old handshake: drop them so every client reconnects and checks the new certificate.
      await cli(['client', 'kill', 'type', 'normal', 'skipme', 'yes']);
      await cli(['client', 'kill', 'type', 'pubsub']);
    };
    return {
      url: `rediss://127.0.0.1:${tlsPort}`,
      tlsPort,
      plainPort,
      caFile: file('ca.crt'),
      clientCertFile: file('client.crt'),
      clientKeyFile: file('client.key'),
      untrustedCaFile: file('untrusted-ca.crt'),
      serveUntrustedCertificate: () => serve('untrusted-server'),
      serveTrustedCertificate: () => serve('server'),
      cli,
      async stop() {
        await stopChild(running);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
