/**
 * The variables that are set, trimmed. An empty or whitespace-only value counts as unset, so its
 * default applies (compose files and .env templates leave `REDIS_URL=`; a templating slip gives
 * `PORT=' '`, which must not become port 0, a random port). Surrounding whitespace is never part of
 * a value (`PORT=' 8080'` is 8080).
 */
export function readSetVariables(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed !== undefined && trimmed !== '') set[name] = trimmed;
  }
  return set;
}
