/**
 * How deeply `value` nests arrays and objects (a scalar is 0, `[]` is 1), computed without recursion
 * and stopping as soon as it passes `limit`. JSON.parse accepts any depth, but JSON.stringify and
 * recursive validators overflow the stack around depth 5 000-10 000: a client body must not be able
 * to turn that into a 500.
 */
export function measureJsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}
