/** Ids in `next` and not in `previous`, and the other way round, sorted (for "model list changed" log lines). */
export function diffModelIds(previous: readonly { readonly id: string }[], next: readonly { readonly id: string }[]): { added: string[]; removed: string[] } {
  const before = new Set(previous.map((model) => model.id));
  const after = new Set(next.map((model) => model.id));
  return {
    added: [...after].filter((id) => !before.has(id)).sort(),
    removed: [...before].filter((id) => !after.has(id)).sort(),
  };
}
