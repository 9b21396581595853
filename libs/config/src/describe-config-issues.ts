import { z } from 'zod';

/**
 * One line per bad variable, naming it and what it must be ("PORT must be an integer from 0 to 65535
 * (unset, it is 8282)"), read from the schema itself so a new variable needs no new message. Values
 * are never echoed: REDIS_URL and the keys carry secrets.
 */
export function describeConfigIssues(
  schema: z.ZodObject,
  issues: readonly z.core.$ZodIssue[],
  present: Readonly<Record<string, string>>,
  /** Extra words per variable, e.g. why it is required. */
  hints: Readonly<Record<string, string>> = {},
): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const name = String(issue.path[0] ?? '');
    const field: z.ZodType | undefined = (schema.shape as Record<string, z.ZodType | undefined>)[name];
    const expected = field === undefined ? issue.message : describeExpected(field);
    // Inside a structured (JSON) variable, or one whose schema says no more than "non-empty": the
    // issue's own words, at the place they are about (`BACKEND_PROFILES[0].backend: …`).
    if (present[name] !== undefined && (issue.path.length > 1 || expected === NON_EMPTY)) {
      const where = formatIssuePath(issue.path);
      if (!seen.has(where)) lines.push(`${where}: ${issue.message}.`);
      seen.add(where);
      continue;
    }
    if (seen.has(name)) continue;
    seen.add(name);
    const hint = hints[name] === undefined ? '' : ` (${hints[name]})`;
    if (present[name] === undefined) {
      lines.push(`${name} is required: ${expected}${hint}.`);
      continue;
    }
    const fallback = field === undefined ? undefined : readDefault(field);
    const unset = fallback === undefined ? '' : `; the default, when unset, is ${fallback}`;
    lines.push(`${name} must be ${expected}${hint}${unset}.`);
  }
  return lines;
}

interface JsonSchemaLike {
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly default?: unknown;
}

function toJsonSchema(field: z.ZodType): JsonSchemaLike {
  return z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as JsonSchemaLike;
}

function readDefault(field: z.ZodType): string | undefined {
  const value = toJsonSchema(field).default;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** "an integer from 0 to 65535", "an http:// or https:// URL", "one of info, debug", "at least 32 characters". */
export function describeExpected(field: z.ZodType): string {
  const json = toJsonSchema(field);
  if (json.enum !== undefined) return `one of ${json.enum.map(String).join(', ')}`;
  if (json.type === 'integer') return describeInteger(json);
  if (json.type === 'number') return 'a number';
  if (json.format === 'uri') {
    const schemes = readUrlSchemes(field);
    if (schemes === undefined) return 'a URL';
    // "an http://" (aitch), "a redis://".
    const article = /^(h|[aeiou])/.test(schemes[0] ?? '') ? 'an' : 'a';
    return `${article} ${schemes.map((scheme) => `${scheme}://`).join(' or ')} URL`;
  }
  if (json.minLength !== undefined && json.minLength > 1) return `at least ${json.minLength} characters`;
  return NON_EMPTY;
}

const NON_EMPTY = 'a non-empty value';

/** `BACKEND_PROFILES[0].models` rather than `BACKEND_PROFILES.0.models`. */
function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : `${index === 0 ? '' : '.'}${String(segment)}`)).join('');
}

function describeInteger(json: JsonSchemaLike): string {
  const max = json.maximum !== undefined && json.maximum < Number.MAX_SAFE_INTEGER ? json.maximum : undefined;
  if (json.exclusiveMinimum === 0) return max === undefined ? 'a whole number above 0' : `a whole number from 1 to ${max}`;
  if (json.minimum !== undefined && max !== undefined) return `an integer from ${json.minimum} to ${max}`;
  if (json.minimum !== undefined) return `a whole number, ${json.minimum} or more`;
  return 'an integer';
}

/**
 * The schemes a `z.url({ protocol })` accepts, when its pattern is a list like /^https?$/ or
 * /^(redis|rediss)$/. zod keeps the pattern only in the schema's definition, not in its issues.
 */
function readUrlSchemes(field: z.ZodType): string[] | undefined {
  let current: unknown = field;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const def = (current as { _zod?: { def?: { protocol?: unknown; innerType?: unknown } } })._zod?.def;
    if (def?.protocol instanceof RegExp) return expandSchemes(def.protocol.source);
    current = def?.innerType;
  }
  return undefined;
}

function expandSchemes(source: string): string[] | undefined {
  const optionalLast = /^\^([a-z]+)([a-z])\?\$$/.exec(source);
  if (optionalLast?.[1] !== undefined && optionalLast[2] !== undefined) return [optionalLast[1], optionalLast[1] + optionalLast[2]];
  const alternatives = /^\^\(?([a-z|]+)\)?\$$/.exec(source);
  return alternatives?.[1]?.split('|');
}
