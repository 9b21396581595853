import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/src/gateway-node-flags.ts';
import { readText, repositoryPath } from './deploy-files.ts';

// No Docker engine runs in CI, so the image is checked by what decides whether it works: the
// Dockerfile's stages and runtime settings, and that everything the apps import at run time is a
// production dependency (the image installs with `npm ci --omit=dev`).
const dockerfile = readText('Dockerfile');
const instructions = dockerfile
  .replaceAll(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => /^[A-Z]+\s/.test(line));

/** Module specifiers a source file loads at run time: value imports and re-exports, not `import type`. */
function runtimeSpecifiers(source: string): string[] {
  return [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map(([, specifier]) => specifier ?? '');
}

function packageName(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
}

/** Workspace package name → its entry file, from each workspace's package.json `exports["."]`. */
function readWorkspaceEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const root of ['apps', 'libs']) {
    for (const entry of readdirSync(repositoryPath(root))) {
      const manifest = JSON.parse(readText(`${root}/${entry}/package.json`)) as { name: string; exports?: Record<string, string> };
      entries.set(manifest.name, `${root}/${entry}/${(manifest.exports?.['.'] ?? './src/index.ts').replace(/^\.\//, '')}`);
    }
  }
  return entries;
}

/** Walks the import graph from the entry points and returns every external package reached. */
function collectRuntimePackages(entryPoints: readonly string[]): Map<string, string> {
  const workspaces = readWorkspaceEntries();
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const pending = [...entryPoints];
  while (pending.length > 0) {
    const file = pending.pop() ?? '';
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of runtimeSpecifiers(readText(file))) {
      if (specifier.startsWith('.')) pending.push(normalize(join(dirname(file), specifier)));
      else if (specifier.startsWith('node:') || builtinModules.includes(packageName(specifier))) continue;
      else if (workspaces.has(packageName(specifier))) pending.push(workspaces.get(packageName(specifier)) ?? '');
      else packages.set(packageName(specifier), file);
    }
  }
  return packages;
}

describe('Dockerfile', () => {
  it('builds in stages on the Node 24 slim image', () => {
    expect(dockerfile).toContain('ARG NODE_IMAGE=node:24-slim');
    expect(instructions.filter((line) => line.startsWith('FROM ')).length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('runs as a non-root user with a health check and the gateway as an exec-form command', () => {
    const user = instructions.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/USER\s+(root|0)\b/);
    expect(instructions.some((line) => line.startsWith('HEALTHCHECK ') && line.includes('/health'))).toBe(true);
    expect(instructions.filter((line) => line.startsWith('CMD ')).at(-1)).toBe(
      `CMD ${JSON.stringify(['node', ...GATEWAY_NODE_FLAGS, 'apps/gateway/src/main.ts']).replaceAll(',', ', ')}`,
    );
  });

  it('starts the gateway with the same V8 flags from `npm start` as from the image', () => {
    const start = (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts['start'];
    // `exec`: npm's forwarded SIGTERM reaches node24.mjs, not a shell (test/reliability/npm-scripts-lifecycle.test.ts).
    expect(start).toBe(`exec node scripts/node24.mjs ${GATEWAY_NODE_FLAGS.join(' ')} apps/gateway/src/main.ts`);
  });

  it('fills a compile cache at build time with the flags the apps run with, so replicas start without stripping types', () => {
    const cacheEnv = instructions.find((line) => line.startsWith('ENV NODE_COMPILE_CACHE='));
    expect(cacheEnv).toBeDefined();
    const warm = instructions.find((line) => line.startsWith('RUN ') && line.includes('--load-only'));
    expect(warm).toContain(`node ${GATEWAY_NODE_FLAGS.join(' ')} apps/gateway/src/main.ts --load-only`);
    expect(warm).toContain('node apps/worker/src/main.ts --load-only');
    // Filled before USER drops root: the node user only reads it.
    expect(instructions.indexOf(warm!)).toBeLessThan(instructions.findIndex((line) => line.startsWith('USER ')));
  });

  it('loads every module with --load-only and exits without config, leaving a compile cache the start reads', () => {
    const cache = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    try {
      for (const entry of ['apps/gateway/src/main.ts', 'apps/worker/src/main.ts']) {
        // No PORT, no REDIS_URL, nothing: --load-only must exit before the config is read.
        const run = spawnSync(process.execPath, [entry, '--load-only'], {
          cwd: repositoryPath('.'),
          env: { PATH: process.env['PATH'] ?? '', NODE_COMPILE_CACHE: cache },
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect({ entry, status: run.status, stderr: run.stderr }).toEqual({ entry, status: 0, stderr: '' });
      }
      // One directory per Node version, holding an entry per stripped and compiled module.
      const [versionDirectory] = readdirSync(cache);
      expect(versionDirectory).toContain(process.version);
      expect(readdirSync(join(cache, versionDirectory!)).length).toBeGreaterThan(100);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('keeps the build context free of dependencies, git data and local env files', () => {
    const ignored = readText('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.git', '**/node_modules', '.env', '.tools']));
  });

  it('can load every package the gateway and worker import at run time from production dependencies', () => {
    const manifest = JSON.parse(readText('package.json')) as { dependencies: Record<string, string> };
    const entryPoints = ['apps/gateway/src/main.ts', 'apps/worker/src/main.ts'];
    for (const entry of entryPoints) expect(existsSync(repositoryPath(entry)), `${entry}`).toBe(true);
    const packages = collectRuntimePackages(entryPoints);
    expect([...packages.keys()]).toEqual(expect.arrayContaining(['express', 'pino', 'prom-client']));
    const missing = [...packages].filter(([name]) => !(name in manifest.dependencies)).map(([name, file]) => `${file} imports ${name}`);
    expect(missing).toEqual([]);
  });

  it('has every workspace in package-lock.json, or `npm ci` in the image build fails', () => {
    const lock = JSON.parse(readText('package-lock.json')) as { packages: Record<string, { version?: string }> };
    const missing = ['apps', 'libs'].flatMap((root) =>
      readdirSync(repositoryPath(root))
        .map((entry) => `${root}/${entry}`)
        .filter((workspace) => lock.packages[workspace] === undefined),
    );
    expect(missing, 'run `npm install` to add new workspaces to package-lock.json').toEqual([]);
  });
});
