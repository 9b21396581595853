import { InvalidRequestError } from '@rgw/errors';
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type PathSegment = PropertyKey;

/**
 * Turns the first zod issue of a rejected request body into the 400 OpenAI would send: `param` is
 * the dotted path (`input[3].content`, `metadata.team`), `code` one of OpenAI's codes, the message
 * in OpenAI's wording ("Invalid type for 'max_output_tokens': expected an integer, but got a string
 * instead."). SDKs show the message; clients such as Codex print it verbatim to the user.
 */
export function convertValidationIssueToError(issue: Issue, basePath: readonly PathSegment[] = []): InvalidRequestError {
  const path = [...basePath, ...issue.path];
  const param = formatParamPath(path);
  const name = param ?? 'body';
  const input = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) {
        return new InvalidRequestError(`Missing required parameter: '${name}'.`, { param, code: 'missing_required_parameter' });
      }
      return new InvalidRequestError(
        `Invalid type for '${name}': expected ${describeExpectedType(issue.expected)}, but got ${describeValueType(input)} instead.`,
        { param, code: 'invalid_type' },
      );
    case 'invalid_value':
      return new InvalidRequestError(`Invalid value: ${quoteValue(input)}. Supported values are: ${formatList(issue.values.map(quoteValue))}.`, {
        param,
        code: 'invalid_value',
      });
    case 'invalid_union':
      return convertUnionIssueToError(issue, path, input);
    case 'invalid_key':
    case 'invalid_element': {
      const inner = issue.issues[0];
      if (inner !== undefined) return convertValidationIssueToError(inner, path);
      break;
    }
    case 'too_big':
    case 'too_small':
      return convertSizeIssueToError(issue, name, param, input);
    case 'custom': {
      const params = issue.params as { code?: string; summary?: string } | undefined;
      if (params?.code !== undefined && params.summary !== undefined) {
        return new InvalidRequestError(`Invalid '${name}': ${params.summary}`, { param, code: params.code });
      }
      break;
    }
    default:
      break;
  }
  return new InvalidRequestError(`Invalid '${name}': ${issue.message}.`, { param, code: 'invalid_value' });
}

/**
 * A union (e.g. `input`: string or array) failed every branch. When the value had the shape of one
 * branch (an array whose element 3 is wrong), report that branch's issue; when it matched none, say
 * which types are accepted.
 */
function convertUnionIssueToError(issue: z.core.$ZodIssueInvalidUnion, path: readonly PathSegment[], input: unknown): InvalidRequestError {
  const shapeMatches = issue.errors.filter((branch) => branch.length > 0 && !branch.some((inner) => isShapeMismatch(inner, input)));
  const chosen = shapeMatches[0]?.[0];
  if (chosen !== undefined) return convertValidationIssueToError(chosen, path);
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (inner.path.length > 0) continue;
      if (inner.code === 'invalid_type') expected.add(describeExpectedType(inner.expected));
      if (inner.code === 'invalid_value') expected.add(describeValueType(inner.values[0]));
    }
  }
  const name = formatParamPath(path) ?? 'body';
  const expectedText = expected.size > 1 ? `one of ${formatList([...expected], 'or')}` : ([...expected][0] ?? 'a different value');
  return new InvalidRequestError(`Invalid type for '${name}': expected ${expectedText}, but got ${describeValueType(input)} instead.`, {
    param: formatParamPath(path),
    code: 'invalid_type',
  });
}

/** True when a branch failed at its root because the value is the wrong kind of thing altogether. */
function isShapeMismatch(issue: Issue, input: unknown): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === 'invalid_type') return true;
  if (issue.code === 'invalid_value') return typeof issue.values[0] !== typeof input;
  return false;
}

function convertSizeIssueToError(
  issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall,
  name: string,
  param: string | null,
  input: unknown,
): InvalidRequestError {
  const isBig = issue.code === 'too_big';
  const limit = String(isBig ? issue.maximum : issue.minimum);
  const direction = isBig ? 'above_max' : 'below_min';
  switch (issue.origin) {
    case 'string': {
      const length = typeof input === 'string' ? input.length : 0;
      return new InvalidRequestError(
        `Invalid '${name}': string too ${isBig ? 'long' : 'short'}. Expected a string with ${isBig ? 'maximum' : 'minimum'} length ${limit}, but got a string with length ${length} instead.`,
        { param, code: `string_${direction}_length` },
      );
    }
    case 'array': {
      const length = Array.isArray(input) ? input.length : 0;
      return new InvalidRequestError(
        `Invalid '${name}': array too ${isBig ? 'long' : 'short'}. Expected an array with ${isBig ? 'maximum' : 'minimum'} length ${limit}, but got an array with length ${length} instead.`,
        { param, code: `array_${direction}_length` },
      );
    }
    default: {
      const kind = typeof input === 'number' && !Number.isInteger(input) ? 'decimal' : 'integer';
      return new InvalidRequestError(
        `Invalid '${name}': ${kind} ${isBig ? 'above maximum' : 'below minimum'} value. Expected a value ${isBig ? '<=' : '>='} ${limit}, but got ${String(input)} instead.`,
        { param, code: `${kind}_${direction}_value` },
      );
    }
  }
}

/** ['input', 3, 'content'] → "input[3].content"; [] → null (the body itself). */
export function formatParamPath(path: readonly PathSegment[]): string | null {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? null : text;
}

function describeExpectedType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a decimal';
    case 'array':
      return 'an array';
    case 'object':
    case 'record':
      return 'an object';
    default:
      return `a ${expected}`;
  }
}

function describeValueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function quoteValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

/** ['a','b','c'] → "a, b, and c" (OpenAI's wording for supported values). */
function formatList(items: readonly string[], conjunction = 'and'): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} ${conjunction} ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, ${conjunction} ${items.at(-1)}`;
}
