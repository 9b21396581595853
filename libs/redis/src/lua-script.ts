import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * A Lua script file named `<name>-<numberOfKeys>.lua` (bullmq's convention), with a KEYS/ARGV/returns
 * header; `<name>-n.lua` takes any number of keys (null here), each still passed as a key.
 */
export interface LuaScript {
  readonly name: string;
  readonly numberOfKeys: number | null;
  readonly lua: string;
}

export type ScriptArgument = string | number;

/** Runs one script: EVALSHA, falling back to EVAL after a Redis restart emptied the script cache. */
export type ScriptRunner = (keys: readonly string[], args: readonly ScriptArgument[]) => Promise<unknown>;

/** Read a script file at load time (once per process). `file` is a `new URL('./x-2.lua', import.meta.url)`. */
export function loadLuaScript(file: URL): LuaScript {
  const match = /^([a-z0-9-]+)-(\d+|n)\.lua$/.exec(basename(fileURLToPath(file)));
  if (match === null) throw new Error(`Lua script file must be named <name>-<numberOfKeys>.lua or <name>-n.lua: ${file.href}`);
  return { name: match[1] ?? '', numberOfKeys: match[2] === 'n' ? null : Number(match[2]), lua: readFileSync(file, 'utf8') };
}

/**
 * Register scripts on a client with `defineCommand` and return typed runners. Command names get
 * an `rgw_` prefix: a custom command named like a Redis command (e.g. `hello`) shadows the
 * client's own method and breaks the RESP3 handshake in ioredis 6.
 */
export function defineScripts<Name extends string>(client: Redis, scripts: Readonly<Record<Name, LuaScript>>): Record<Name, ScriptRunner> {
  const runners = {} as Record<Name, ScriptRunner>;
  for (const key of Object.keys(scripts) as Name[]) {
    const script = scripts[key];
    const command = `rgw_${script.name.replaceAll('-', '_')}`;
    // Without numberOfKeys, ioredis takes the key count as the command's first argument.
    if (!(command in client))
      client.defineCommand(command, script.numberOfKeys === null ? { lua: script.lua } : { numberOfKeys: script.numberOfKeys, lua: script.lua });
    const method = (client as unknown as Record<string, (...parts: ScriptArgument[]) => Promise<unknown>>)[command];
    if (method === undefined) throw new Error(`defineCommand did not register ${command}`);
    runners[key] = (keys, args) => {
      if (script.numberOfKeys === null) return method.call(client, keys.length, ...keys, ...args);
      if (keys.length !== script.numberOfKeys) {
        return Promise.reject(new Error(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`));
      }
      return method.call(client, ...keys, ...args);
    };
  }
  return runners;
}
