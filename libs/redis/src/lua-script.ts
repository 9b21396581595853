import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './create-redis-clients.ts';

export type ScriptArgument = string | number | Buffer;

/**
 * One Lua script, read once at load: the file `<name>-<numberOfKeys>.lua` (bullmq's convention; `-n`
 * when it takes a variable list of keys after the fixed ones), its KEYS and ARGV by name, and the decoder
 * of its reply. The file's header must name each KEYS[i] and ARGV[i] as the spec does (checked at load),
 * so header, call site and script cannot drift apart.
 */
export interface LuaScript<Keys extends string, Args extends string, Reply, RestKeys extends string = never, RestArgs extends string = never> {
  readonly name: string;
  readonly lua: string;
  readonly keys: readonly Keys[];
  readonly args: readonly Args[];
  readonly restKeys: RestKeys | null;
  readonly restArgs: RestArgs | null;
  readonly decode: (reply: unknown) => Reply;
}

export interface ScriptSpec<Keys extends string, Args extends string, Reply, RestKeys extends string, RestArgs extends string> {
  /** `new URL('./x-2.lua', import.meta.url)`. */
  readonly file: URL;
  /** KEYS[1..k] by name, in order. */
  readonly keys: readonly Keys[];
  /** The name of KEYS[k+1..n] (a `-n` script only). */
  readonly restKeys?: RestKeys;
  /** ARGV[1..a] by name, in order. */
  readonly args: readonly Args[];
  /** The name of ARGV[a+1..] (a variable list of arguments after the fixed ones). */
  readonly restArgs?: RestArgs;
  /** Turns Redis's reply into the script's typed result; throws on a shape the script never returns. */
  readonly decode: (reply: unknown) => Reply;
}

/** The named arguments of one call: every key and argument by its name. */
export interface ScriptCall<Keys extends string, Args extends string, RestKeys extends string = never, RestArgs extends string = never> {
  readonly keys: { readonly [Name in Keys]: string } & { readonly [Name in RestKeys]: readonly string[] };
  readonly args: { readonly [Name in Args]: ScriptArgument } & { readonly [Name in RestArgs]: readonly ScriptArgument[] };
}

export type ScriptRunner<S> =
  S extends LuaScript<infer Keys, infer Args, infer Reply, infer RestKeys, infer RestArgs>
    ? (call: ScriptCall<Keys, Args, RestKeys, RestArgs>) => Promise<Reply>
    : never;

// oxlint-disable-next-line typescript/no-explicit-any -- any script, whatever its key and argument names
type AnyScript = LuaScript<string, string, any, string, string>;

/** Read and check a script file (once per process). */
export function loadLuaScript<Keys extends string, Args extends string, Reply, RestKeys extends string = never, RestArgs extends string = never>(
  spec: ScriptSpec<Keys, Args, Reply, RestKeys, RestArgs>,
): LuaScript<Keys, Args, Reply, RestKeys, RestArgs> {
  const fileName = basename(fileURLToPath(spec.file));
  const match = /^([a-z0-9-]+)-(\d+|n)\.lua$/.exec(fileName);
  if (match === null) throw new Error(`Lua script file must be named <name>-<numberOfKeys>.lua or <name>-n.lua: ${spec.file.href}`);
  const variadic = match[2] === 'n';
  if (variadic !== (spec.restKeys !== undefined)) {
    throw new Error(`${fileName}: a -n script takes restKeys, a -<numberOfKeys> script does not`);
  }
  if (!variadic && Number(match[2]) !== spec.keys.length) {
    throw new Error(`${fileName} takes ${match[2]} keys but its spec names ${spec.keys.length}: ${spec.keys.join(', ')}`);
  }
  const lua = readFileSync(spec.file, 'utf8');
  checkHeader(fileName, lua, 'KEYS', spec.keys, spec.restKeys);
  checkHeader(fileName, lua, 'ARGV', spec.args, spec.restArgs);
  return {
    name: match[1] ?? '',
    lua,
    keys: spec.keys,
    args: spec.args,
    restKeys: spec.restKeys ?? null,
    restArgs: spec.restArgs ?? null,
    decode: spec.decode,
  };
}

const normalise = (name: string) => name.toLowerCase().replaceAll(/[_-]/g, '');

/** Each `KEYS[i] <name>` (or `ARGV[i] <name>`) line of the header must carry the spec's name for position i. */
function checkHeader(fileName: string, lua: string, table: 'KEYS' | 'ARGV', names: readonly string[], rest: string | undefined): void {
  const declared = new Map<string, string>();
  // Header lines only: `KEYS[1] name …` at the start of a line (after `--` for one-line comments).
  for (const [, position, name] of lua.matchAll(new RegExp(`^[ \\t]*(?:--[ \\t]*)?${table}\\[(\\d+(?:\\.\\.\\w*)?)\\][ \\t]+([A-Za-z_][\\w-]*)`, 'gm'))) {
    if (position !== undefined && name !== undefined && !declared.has(position)) declared.set(position, name);
  }
  names.forEach((name, index) => {
    const found = declared.get(String(index + 1));
    if (found === undefined || normalise(found) !== normalise(name)) {
      throw new Error(`${fileName}: header says ${table}[${index + 1}] is ${found ?? 'nothing'}, the spec says ${name}`);
    }
  });
  if (rest !== undefined) {
    const found = [...declared].find(([position]) => position.startsWith(`${names.length + 1}..`));
    if (found === undefined || normalise(found[1]) !== normalise(rest)) {
      throw new Error(`${fileName}: header should declare ${table}[${names.length + 1}..] ${rest}`);
    }
  }
}

/**
 * Register scripts on a client with `defineCommand` (EVALSHA, falling back to EVAL after a Redis
 * restart emptied the script cache) and return typed runners taking named keys and arguments.
 * Command names get an `rgw_` prefix: a custom command named like a Redis command (e.g. `hello`)
 * shadows the client's own method and breaks the RESP3 handshake in ioredis 6. On a Cluster client a
 * script runs on the node of its first key; the scripts keep every key in one slot (hash tags).
 */
export function defineScripts<Scripts extends Record<string, AnyScript>>(
  client: RedisClient,
  scripts: Scripts,
): { readonly [Name in keyof Scripts]: ScriptRunner<Scripts[Name]> } {
  const runners: Record<string, (call: ScriptCall<string, string, string, string>) => Promise<unknown>> = {};
  const commands = client as unknown as Record<string, ((...parts: ScriptArgument[]) => Promise<unknown>) | undefined>;
  for (const [key, script] of Object.entries(scripts)) {
    const command = registerScript(client, script);
    const method = commands[command];
    if (method === undefined) throw new Error(`defineCommand did not register ${command}`);
    runners[key] = async (call) => script.decode(await method.call(client, ...scriptParts(script, call))) as unknown;
  }
  return runners as { readonly [Name in keyof Scripts]: ScriptRunner<Scripts[Name]> };
}

/**
 * Queue a script on a pipeline of `client` (its reply then comes from `exec()`; decode it with
 * `script.decode`). For writes that must share a connection with what follows them, e.g. `WAIT`.
 */
export function queueScript<Keys extends string, Args extends string, Reply, RestKeys extends string, RestArgs extends string>(
  client: RedisClient,
  pipeline: ChainableCommander,
  script: LuaScript<Keys, Args, Reply, RestKeys, RestArgs>,
  call: ScriptCall<Keys, Args, RestKeys, RestArgs>,
): void {
  const command = registerScript(client, script as unknown as AnyScript);
  const method = (pipeline as unknown as Record<string, ((...parts: ScriptArgument[]) => unknown) | undefined>)[command];
  // A pipeline copies the client's scripts when it is created: register before `client.pipeline()`.
  if (method === undefined) throw new Error(`${command} was registered after this pipeline was created`);
  method.call(pipeline, ...scriptParts(script as unknown as AnyScript, call as unknown as ScriptCall<string, string, string, string>));
}

/** defineCommand once per client; returns the command's name. */
function registerScript(client: RedisClient, script: AnyScript): string {
  const command = `rgw_${script.name.replaceAll('-', '_')}`;
  // Without numberOfKeys, ioredis takes the key count as the command's first argument.
  if (!(command in client)) {
    client.defineCommand(command, script.restKeys === null ? { numberOfKeys: script.keys.length, lua: script.lua } : { lua: script.lua });
  }
  return command;
}

/** The command's arguments: keys in the spec's order (then the rest list), then arguments; a key count first for `-n` scripts. */
function scriptParts(script: AnyScript, call: ScriptCall<string, string, string, string>): ScriptArgument[] {
  const keys = script.keys.map((name) => call.keys[name] as string);
  if (script.restKeys !== null) keys.push(...((call.keys[script.restKeys] ?? []) as readonly string[]));
  const args = script.args.map((name) => call.args[name] as ScriptArgument);
  if (script.restArgs !== null) args.push(...((call.args[script.restArgs] ?? []) as readonly ScriptArgument[]));
  return script.restKeys === null ? [...keys, ...args] : [keys.length, ...keys, ...args];
}

/** Decoder helpers: Redis replies are loosely typed; a script that returns something else is a bug, so throw. */
export const reply = {
  integer(value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${what}: expected an integer reply, got ${JSON.stringify(value)}`);
    return value;
  },
  array(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) throw new Error(`${what}: expected an array reply, got ${JSON.stringify(value)}`);
    return value;
  },
  string(value: unknown, what: string): string {
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (typeof value !== 'string') throw new Error(`${what}: expected a string reply, got ${JSON.stringify(value)}`);
    return value;
  },
  /** Lua `false` arrives as null. */
  nullableString(value: unknown, what: string): string | null {
    return value === null ? null : reply.string(value, what);
  },
};
