import { z } from 'zod';

interface NumberBounds {
  /** true: the field is an integer; OpenAI words its errors "expected an integer", "integer below minimum value". */
  readonly integer: boolean;
  /** Inclusive. */
  readonly min?: number;
  /** Inclusive. */
  readonly max?: number;
}

/**
 * A number field with an inclusive range whose violations carry OpenAI's error code and wording,
 * e.g. code `integer_below_min_value`, "Invalid 'max_output_tokens': integer below minimum value.
 * Expected a value >= 16, but got 1 instead." Written as one check rather than `z.int().min()`:
 * zod reports a string sent for an integer field as "expected number" and cannot tell integer
 * ranges from decimal ones, and clients show these messages to users.
 */
export function createBoundedNumberSchema(bounds: NumberBounds) {
  const kind = bounds.integer ? 'integer' : 'decimal';
  return z.unknown().transform((value, context): number => {
    const isNumber = typeof value === 'number' && Number.isFinite(value);
    if (!isNumber || (bounds.integer && !Number.isSafeInteger(value))) {
      context.addIssue({ code: 'invalid_type', expected: bounds.integer ? 'int' : 'number', input: value });
      return z.NEVER;
    }
    if (bounds.min !== undefined && value < bounds.min) {
      context.addIssue({
        code: 'custom',
        input: value,
        params: { code: `${kind}_below_min_value`, summary: `${kind} below minimum value. Expected a value >= ${bounds.min}, but got ${value} instead.` },
      });
    } else if (bounds.max !== undefined && value > bounds.max) {
      context.addIssue({
        code: 'custom',
        input: value,
        params: { code: `${kind}_above_max_value`, summary: `${kind} above maximum value. Expected a value <= ${bounds.max}, but got ${value} instead.` },
      });
    }
    return value;
  });
}
