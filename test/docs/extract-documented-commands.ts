/**
 * The shell commands the README and docs/ tell a reader to run: every line of a ```sh / ```bash block
 * (continuations joined, comments dropped) and every inline `code` span that starts with a command
 * (npm, node, curl, docker…), split at `&&`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocumentedCommand {
  /** The command as written (trailing comment removed). */
  readonly command: string;
  /** Where: `docs/cluster.md:16`. */
  readonly where: string;
}

const COMMAND_WORDS = new Set([
  'npm',
  'npx',
  'node',
  'curl',
  'docker',
  'docker-compose',
  'helm',
  'kubectl',
  'kubeconform',
  'promtool',
  'redis-cli',
  'apt-get',
  'openssl',
  'export',
]);

function markdownFiles(root: string): string[] {
  const files = [join(root, 'README.md')];
  const visit = (directory: string) => {
    for (const entry of readdirSync(directory).sort()) {
      const path = join(directory, entry);
      if (statSync(path).isDirectory()) visit(path);
      else if (entry.endsWith('.md')) files.push(path);
    }
  };
  visit(join(root, 'docs'));
  return files;
}

function splitCommands(text: string): string[] {
  return text
    .replace(/\s+#\s.*$/, '')
    .split(/\s+&&\s+/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function extractDocumentedCommands(root: string): DocumentedCommand[] {
  const found: DocumentedCommand[] = [];
  for (const file of markdownFiles(root)) {
    const name = relative(root, file);
    const lines = readFileSync(file, 'utf8').split('\n');
    let fence: string | null = null;
    let pending = '';
    let pendingLine = 0;
    for (const [index, line] of lines.entries()) {
      const fenceMatch = /^\s*```(\w*)/.exec(line);
      if (fenceMatch !== null) {
        fence = fence === null ? (fenceMatch[1] ?? '') : null;
        continue;
      }
      if (fence !== null) {
        if (!['sh', 'bash', 'shell'].includes(fence)) continue;
        const trimmed = line.trim();
        if (pending === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
        if (pending === '') pendingLine = index + 1;
        if (trimmed.endsWith('\\')) {
          pending += `${trimmed.slice(0, -1).trim()} `;
          continue;
        }
        for (const command of splitCommands(pending + trimmed)) found.push({ command, where: `${name}:${pendingLine}` });
        pending = '';
        continue;
      }
      for (const match of line.matchAll(/`([^`]+)`/g)) {
        const span = match[1]!.trim();
        const words = span.split(/\s+/);
        if (!COMMAND_WORDS.has(words[0]!) || words.length < 2) continue;
        for (const command of splitCommands(span)) found.push({ command, where: `${name}:${index + 1}` });
      }
    }
  }
  return found;
}
