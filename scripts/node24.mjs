#!/usr/bin/env node
// Runs a command under Node 24 (the LTS line this project targets: it runs our TypeScript directly).
// When the Node running this script is older, Node 24 comes from the npm registry's `node` package
// into .tools/node (once), so `npm start` and `npm test` work on a machine that ships an older Node.
//   node scripts/node24.mjs <script.ts> [args…]   run a script
//   node scripts/node24.mjs --run "<shell command>"   run a shell command with Node 24 first on PATH
// Plain JavaScript on purpose: it must run on the old Node too.
// Signals: SIGTERM, SIGINT and SIGHUP are passed to the child, and this process exits when the child
// has, with its code or signal. The npm scripts start it with `exec`, so npm's own forwarding of
// SIGTERM reaches this process, not a shell that would die and leave the child running.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const toolsBin = path.join(root, '.tools', 'node', 'node_modules', '.bin');
const major = Number(process.versions.node.split('.')[0]);

function node24Binary() {
  if (major >= 24) return process.execPath;
  const local = path.join(toolsBin, 'node');
  if (!existsSync(local)) {
    process.stderr.write(`Node ${process.versions.node} is older than 24: installing Node 24 into .tools/node (once)…\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', path.join(root, '.tools', 'node'), 'node@24'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (result.status !== 0 || !existsSync(local)) {
      process.stderr.write('Could not install Node 24 from the npm registry. Install Node 24 (https://nodejs.org) and retry.\n');
      process.exit(1);
    }
  }
  return local;
}

const args = process.argv.slice(2);
const node = node24Binary();
const env = {
  ...process.env,
  PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
  // Node keeps the stripped and compiled TypeScript here: from the second start on it neither strips
  // types again nor loads the stripper (about 20 MB less RSS per process, docs/operations.md).
  NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(root, 'node_modules', '.cache', 'node-compile-cache'),
};

if (args[0] !== '--run' && node === process.execPath && typeof process.execve === 'function') {
  // Replace this process: signals (SIGTERM from a process manager) reach the gateway directly.
  process.execve(node, [node, ...args], env);
}

// `--run vitest run a.test.ts` (words only, globs already expanded by npm's shell) runs without a
// shell, so a forwarded SIGTERM reaches the program itself; a shell (`a && b`) would die of it and
// leave the program running.
const command = args.slice(1);
const simple = process.platform !== 'win32' && command.length > 0 && command.every((word) => /^[\w@%+=:,./-]+$/.test(word));
const child =
  args[0] !== '--run'
    ? spawn(node, args, { stdio: 'inherit', env })
    : simple
      ? spawn(command[0], command.slice(1), { stdio: 'inherit', env })
      : spawn(command.join(' '), { stdio: 'inherit', env, shell: true });
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
for (const signal of forwarded) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so our parent sees what the child saw: with our handler still
    // installed, re-raising it would only call the handler again and leave this process running.
    for (const name of forwarded) process.removeAllListeners(name);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
