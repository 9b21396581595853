import { readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { readText, repositoryPath } from './deploy-files.ts';

// No Docker engine runs in CI, so the image is checked by what decides whether it works: the
// Dockerfile's stages and runtime settings, and that everything the apps import at run time is a
// production dependency (the image installs with `npm ci --omit=dev`).
const dockerfile = readText('Dockerfile');
const instructions = dockerfile
  .replaceAll(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => /^[A-Z]+\s/.test(line));

function sourceFiles(directory: string): string[] {
  return readdirSync(repositoryPath(directory)).flatMap((entry) => {
    const path = `${directory}/${entry}`;
    if (entry === 'node_modules' || entry === '__fixtures__') return [];
    if (statSync(repositoryPath(path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Packages a source file loads at run time: value imports and re-exports, not `import type`. */
function runtimePackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map(([, specifier]) => specifier ?? '');
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '')));
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
    expect(instructions.filter((line) => line.startsWith('CMD ')).at(-1)).toBe('CMD ["node", "apps/gateway/src/main.ts"]');
  });

  it('keeps the build context free of dependencies, git data and local env files', () => {
    const ignored = readText('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.git', '**/node_modules', '.env', '.tools']));
  });

  it('can load every package the gateway and worker import at run time from production dependencies', () => {
    const manifest = JSON.parse(readText('package.json')) as { dependencies: Record<string, string> };
    const workspaces = new Set(
      ['apps', 'libs'].flatMap((root) =>
        readdirSync(repositoryPath(root)).map(
          (entry) => (JSON.parse(readText(`${root}/${entry}/package.json`)) as { name: string }).name,
        ),
      ),
    );
    const missing: string[] = [];
    for (const file of [...sourceFiles('apps'), ...sourceFiles('libs')]) {
      for (const name of runtimePackages(readText(file))) {
        if (builtinModules.includes(name) || workspaces.has(name) || name in manifest.dependencies) continue;
        missing.push(`${file} imports ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
