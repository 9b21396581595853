/**
 * deploy/deploy.sh's prerequisite checks, run for real: with a PATH that has no Docker, with a Docker
 * CLI whose daemon does not answer, with settings missing, wrong, or in an env file. No Docker
 * engine runs here, so the deploy itself (which needs one) is not reached; every run ends at the checks.
 */
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCommand, repositoryPath, runCommand, skipNote } from './deploy-files.ts';

const script = repositoryPath('deploy/deploy.sh');
const scratch = mkdtempSync(join(tmpdir(), 'rgw-deploy-script-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const complete = {
  GATEWAY_DOMAIN: 'gw.example.com',
  ACME_EMAIL: 'ops@example.com',
  REASONING_ENCRYPTION_KEY: 'k'.repeat(48),
  GRAFANA_ADMIN_PASSWORD: 'a-real-password',
};

/**
 * A directory of links to every program on PATH except those whose name matches `hide`: the same
 * machine, without Docker (wherever it is installed).
 */
function pathWithout(hide: RegExp): string {
  const directory = mkdtempSync(join(scratch, 'path-'));
  for (const source of (process.env['PATH'] ?? '').split(delimiter)) {
    let entries: string[];
    try {
      entries = readdirSync(source);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (hide.test(entry)) continue;
      const target = join(source, entry);
      try {
        if (!statSync(target).isFile()) continue;
        accessSync(target, constants.X_OK);
        symlinkSync(target, join(directory, entry));
      } catch {
        // not executable, or an earlier directory on PATH already provided this name
      }
    }
  }
  return directory;
}

const noDocker = pathWithout(/^docker/);

/** Runs the script with only the given environment (and never the repository's own .env). */
function deploy(args: string[], env: Record<string, string>, envFile = join(scratch, 'absent.env')) {
  return runCommand('bash', [script, ...args], { env: { HOME: scratch, ENV_FILE: envFile, ...env } });
}

describe('deploy/deploy.sh prerequisite checks', () => {
  it('prints its usage with --help', () => {
    const result = deploy(['--help'], { PATH: noDocker });
    expect(result.status).toBe(0);
    expect(result.output).toContain('Usage: deploy/deploy.sh');
    expect(result.output).toContain('GATEWAY_DOMAIN');
  });

  it('is executable', () => {
    expect(() => accessSync(script, constants.X_OK)).not.toThrow();
  });

  it('without Docker on PATH and without settings, lists everything missing at once and stops', () => {
    const result = deploy([], { PATH: noDocker });
    expect(result.status).toBe(1);
    expect(result.output).toContain('cannot deploy, 6 thing(s) to fix first');
    expect(result.output).toContain('docker: not found on PATH. Install Docker Engine');
    expect(result.output).toContain("Docker Compose: not found (neither 'docker compose' nor 'docker-compose')");
    expect(result.output).toContain('GATEWAY_DOMAIN is not set');
    expect(result.output).toContain('ACME_EMAIL is not set');
    expect(result.output).toContain('GRAFANA_ADMIN_PASSWORD is not set');
    expect(result.output).toContain('REASONING_ENCRYPTION_KEY is not set');
    // Says how to make the secret, and where the settings are read from.
    expect(result.output).toContain('openssl rand -base64 48');
    expect(result.output).toContain(`Settings are read from the environment or from ${join(scratch, 'absent.env')}`);
  });

  it('with every setting but no Docker, names only Docker', () => {
    const result = deploy([], { PATH: noDocker, ...complete });
    expect(result.status).toBe(1);
    expect(result.output).toContain('cannot deploy, 2 thing(s) to fix first');
    expect(result.output).toContain('docker: not found on PATH');
    expect(result.output).not.toContain('is not set');
  });

  it('says what is wrong with each malformed setting', () => {
    const result = deploy(['--replicas', 'two'], {
      PATH: noDocker,
      GATEWAY_DOMAIN: 'https://gw.example.com/v1',
      ACME_EMAIL: 'ops-at-example.com',
      REASONING_ENCRYPTION_KEY: 'too-short',
      GRAFANA_ADMIN_PASSWORD: 'admin',
    });
    expect(result.status).toBe(1);
    expect(result.output).toContain("GATEWAY_DOMAIN='https://gw.example.com/v1' is not a DNS name: give the bare name, without https://, port or path");
    expect(result.output).toContain("ACME_EMAIL='ops-at-example.com' is not an e-mail address");
    expect(result.output).toContain('REASONING_ENCRYPTION_KEY has 9 characters; it needs 32 or more');
    expect(result.output).toContain("GRAFANA_ADMIN_PASSWORD is not set, or is admin (Grafana's default)");
    expect(result.output).toContain("--replicas 'two' is not a positive number");
  });

  it('refuses an IP address as the domain: certificate authorities issue for names', () => {
    const result = deploy([], { PATH: noDocker, ...complete, GATEWAY_DOMAIN: '203.0.113.7' });
    expect(result.output).toContain("GATEWAY_DOMAIN='203.0.113.7' is an IP address");
  });

  it('reads the settings from the env file compose reads, the environment winning', () => {
    const envFile = join(scratch, 'deploy.env');
    writeFileSync(
      envFile,
      [
        '# the operator keeps these next to docker-compose.yaml',
        'GATEWAY_DOMAIN=gw.example.com',
        'export ACME_EMAIL="ops@example.com"',
        `REASONING_ENCRYPTION_KEY='${'k'.repeat(48)}'`,
        'GRAFANA_ADMIN_PASSWORD=admin',
        '',
      ].join('\n'),
    );
    const fromFile = deploy([], { PATH: noDocker }, envFile);
    expect(fromFile.output).not.toContain('GATEWAY_DOMAIN is not set');
    expect(fromFile.output).not.toContain('ACME_EMAIL');
    expect(fromFile.output).not.toContain('REASONING_ENCRYPTION_KEY');
    expect(fromFile.output).toContain('GRAFANA_ADMIN_PASSWORD is not set, or is admin');
    const overridden = deploy([], { PATH: noDocker, GRAFANA_ADMIN_PASSWORD: 'from-the-shell' }, envFile);
    expect(overridden.output).not.toContain('GRAFANA_ADMIN_PASSWORD');
  });

  it('needs no domain, e-mail or Grafana password in the plain-HTTP local mode', () => {
    const result = deploy(['--http'], { PATH: noDocker, REASONING_ENCRYPTION_KEY: complete.REASONING_ENCRYPTION_KEY });
    expect(result.status).toBe(1);
    expect(result.output).toContain('docker: not found on PATH');
    expect(result.output).not.toContain('GATEWAY_DOMAIN');
    expect(result.output).not.toContain('ACME_EMAIL');
    expect(result.output).not.toContain('GRAFANA_ADMIN_PASSWORD');
  });

  it.skipIf(!hasCommand('docker'))(`with a Docker CLI whose daemon does not answer, says so and where it looked${skipNote('docker', 'docker.io')}`, () => {
    const result = deploy(['--check'], { PATH: process.env['PATH'] ?? '', DOCKER_HOST: `unix://${join(scratch, 'no-daemon.sock')}`, ...complete });
    expect(result.status).toBe(1);
    expect(result.output).toContain(`docker: the Docker daemon does not answer at unix://${join(scratch, 'no-daemon.sock')}. Start it`);
    expect(result.output).not.toContain('docker: not found');
  });
});
