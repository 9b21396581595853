import { z } from 'zod';

/**
 * A schema for a `type`-tagged union that stays open: known `type` values are validated by their own
 * schema (so an error names the exact field, e.g. `input[3].call_id`), any other value goes to
 * `fallback`. The Responses API grows new item, part and tool types every few months, and a
 * request carrying one we do not interpret must still parse (the converter then drops it with a
 * warning). zod's discriminatedUnion rejects unknown discriminators, hence this small dispatcher.
 *
 * `resolveType` picks the case; by default the value's `type` field (messages and item references
 * may omit it, see the input item schema).
 */
export function createTypeDispatchSchema<Cases extends Record<string, z.ZodType>, Fallback extends z.ZodType>(
  cases: Cases,
  fallback: Fallback,
  resolveType: (value: Readonly<Record<string, unknown>>) => unknown = (value) => value['type'],
) {
  type Output = z.output<Cases[keyof Cases]> | z.output<Fallback>;
  return z.unknown().transform((value, context): Output => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      context.addIssue({ code: 'invalid_type', expected: 'object', input: value });
      return z.NEVER;
    }
    const type = resolveType(value as Record<string, unknown>);
    const schema: z.ZodType = typeof type === 'string' && Object.hasOwn(cases, type) ? (cases[type] as z.ZodType) : fallback;
    // reportInput keeps the offending value on each issue, which the OpenAI-style messages quote.
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data as Output;
    for (const issue of result.error.issues) context.addIssue({ ...issue });
    return z.NEVER;
  });
}
