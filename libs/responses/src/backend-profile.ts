/**
 * What differs between the Chat Completions servers behind the gateway (responses-api.md §8.2, §12.5),
 * in one record per model, so the converter asks the profile instead of scattering `if (vllm)` checks.
 * A profile is detected from the model's `/v1/models` entry (`owned_by`, and the fields Chutes adds) and
 * its id (the model family decides how thinking is switched), then adjusted by the operator's overrides
 * per model pattern (BACKEND_PROFILES). docs/translation.md has the table of what each profile does.
 */

export type BackendName = 'generic' | 'vllm' | 'sglang' | 'ollama' | 'chutes';
export const BACKEND_NAMES: readonly BackendName[] = ['generic', 'vllm', 'sglang', 'ollama', 'chutes'];

/** The effort ladder, least to most (vLLM's order); `none` (thinking off) is outside it. */
export const REASONING_EFFORT_LADDER = ['minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
export type ReasoningEffortLevel = 'none' | (typeof REASONING_EFFORT_LADDER)[number];

export type ReasoningReplayField = 'reasoning_content' | 'reasoning';
export type ThinkingSwitch = 'enable_thinking' | 'thinking';

export interface BackendProfile {
  /** The dialect, for logs and warnings: a backend name, plus the model family when one matched. */
  readonly name: string;
  /**
   * Which Chat `reasoning_effort` values the server accepts. `as-sent`: whatever the client asked.
   * A list: the nearest listed level (rounded down, else the lowest), and nothing for `none` unless
   * listed (the thinking switch says "off" instead). A client's value is never sent where it 400s.
   */
  readonly reasoningEfforts: 'as-sent' | readonly ReasoningEffortLevel[];
  /**
   * The chat-template switch for thinking, sent as `chat_template_kwargs: {<switch>: effort !== "none"}`
   * when the request sets `reasoning.effort`: Qwen3 and GLM templates read `enable_thinking`, DeepSeek
   * V3.1+ `thinking`. Null where the server takes no template kwargs (Ollama, unknown servers).
   */
  readonly thinkingSwitch: ThinkingSwitch | null;
  /** Where an assistant message replays earlier reasoning: SGLang/DeepSeek `reasoning_content`, Ollama and vLLM (late 2025+) `reasoning`. */
  readonly reasoningReplayFields: readonly ReasoningReplayField[];
  /**
   * Every assistant message with tool calls carries reasoning, a placeholder when the client sent none:
   * thinking-mode servers for Kimi K2, DeepSeek and GLM reject one without it ("thinking is enabled but
   * reasoning_content is missing in assistant tool call message").
   */
  readonly reasoningOnToolCalls: boolean;
  /** `<think>…</think>` opening `content` is reasoning (servers without a reasoning parser). */
  readonly inlineThinkTags: boolean;
}

/** What an operator may set per model pattern (BACKEND_PROFILES); absent fields keep the detected value. */
export interface BackendProfileOverride {
  /** Model ids it applies to: `*` matches any run of characters, case-insensitive (`Qwen/Qwen3-*`, `*`). */
  readonly models: string;
  /** Start from this backend's defaults instead of the detected one. */
  readonly backend?: BackendName | undefined;
  readonly reasoningEfforts?: BackendProfile['reasoningEfforts'] | undefined;
  readonly thinkingSwitch?: ThinkingSwitch | null | undefined;
  readonly reasoningReplayFields?: readonly ReasoningReplayField[] | undefined;
  readonly reasoningOnToolCalls?: boolean | undefined;
  readonly inlineThinkTags?: boolean | undefined;
}

type ProfileSettings = Omit<BackendProfile, 'name'>;

/** Each server's defaults. */
const BACKEND_DEFAULTS: Readonly<Record<BackendName, ProfileSettings & { readonly templateKwargs: boolean }>> = {
  // Unknown OpenAI-compatible servers (DeepSeek's API, proxies): what the gateway always did.
  generic: {
    reasoningEfforts: 'as-sent',
    thinkingSwitch: null,
    reasoningReplayFields: ['reasoning_content'],
    reasoningOnToolCalls: false,
    inlineThinkTags: true,
    templateKwargs: false,
  },
  // vLLM: efforts none/low/medium/high; reads `reasoning` on messages since the rename (PR #27752), `reasoning_content` before.
  vllm: {
    reasoningEfforts: ['none', 'low', 'medium', 'high'],
    thinkingSwitch: null,
    reasoningReplayFields: ['reasoning', 'reasoning_content'],
    reasoningOnToolCalls: false,
    inlineThinkTags: true,
    templateKwargs: true,
  },
  // SGLang before 2026 accepted only low/medium/high; thinking is switched off through the template.
  sglang: {
    reasoningEfforts: ['low', 'medium', 'high'],
    thinkingSwitch: null,
    reasoningReplayFields: ['reasoning_content'],
    reasoningOnToolCalls: false,
    inlineThinkTags: true,
    templateKwargs: true,
  },
  // Ollama maps reasoning_effort to its `think` option (none = off) and reads `reasoning` on messages; no template kwargs.
  ollama: {
    reasoningEfforts: ['none', 'low', 'medium', 'high'],
    thinkingSwitch: null,
    reasoningReplayFields: ['reasoning'],
    reasoningOnToolCalls: false,
    inlineThinkTags: true,
    templateKwargs: false,
  },
  // Chutes runs SGLang and vLLM builds of several ages behind one API: the fields both read, the efforts both accept.
  chutes: {
    reasoningEfforts: ['low', 'medium', 'high'],
    thinkingSwitch: null,
    reasoningReplayFields: ['reasoning_content', 'reasoning'],
    reasoningOnToolCalls: false,
    inlineThinkTags: true,
    templateKwargs: true,
  },
};

/** Model families whose chat templates need something of their own, matched on the model id (or the entry's `root`). */
const MODEL_FAMILIES: readonly { readonly family: string; readonly pattern: RegExp; readonly settings: Partial<ProfileSettings> }[] = [
  { family: 'qwen3', pattern: /qwen3/i, settings: { thinkingSwitch: 'enable_thinking' } },
  { family: 'glm', pattern: /glm-(4\.[5-9]|[5-9])/i, settings: { thinkingSwitch: 'enable_thinking', reasoningOnToolCalls: true } },
  { family: 'deepseek-v3.1', pattern: /deepseek-v(3\.[1-9]|[4-9])/i, settings: { thinkingSwitch: 'thinking', reasoningOnToolCalls: true } },
  { family: 'deepseek-r1', pattern: /deepseek-(r1|reasoner)/i, settings: { reasoningOnToolCalls: true } },
  { family: 'kimi-k2', pattern: /kimi-k2/i, settings: { reasoningOnToolCalls: true } },
];

export const GENERIC_BACKEND_PROFILE: BackendProfile = buildProfile('generic', null);

export interface ResolveBackendProfileInput {
  /** The backend model id the request resolved to. */
  readonly model: string;
  /** Its `/v1/models` entry as the backend sent it; absent when the catalogue could not check the model. */
  readonly entry?: Readonly<Record<string, unknown>> | undefined;
  /** BACKEND_PROFILES, applied in order (a later match overrides an earlier one). */
  readonly overrides?: readonly BackendProfileOverride[];
}

/** The profile for one model: detected, then the operator's overrides that match it. */
export function resolveBackendProfile(input: ResolveBackendProfileInput): BackendProfile {
  const matching = (input.overrides ?? []).filter((override) => matchesModelPattern(override.models, input.model));
  const backend = matching.reduce<BackendName>((chosen, override) => override.backend ?? chosen, detectBackend(input.entry));
  const root = typeof input.entry?.['root'] === 'string' ? input.entry['root'] : '';
  const family = MODEL_FAMILIES.find((candidate) => candidate.pattern.test(input.model) || candidate.pattern.test(root)) ?? null;
  const profile = buildProfile(backend, family);
  return matching.reduce<BackendProfile>((current, { models: _models, backend: _backend, ...settings }) => {
    const set = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<ProfileSettings>;
    return { ...current, ...set };
  }, profile);
}

/** Which server sent this `/v1/models` entry. */
export function detectBackend(entry: Readonly<Record<string, unknown>> | undefined): BackendName {
  if (entry === undefined) return 'generic';
  // Chutes' gateway adds its own pricing (`price` in USD/TAO and OpenRouter-style `pricing`) and, in places, `chute_id`
  // to the entry its SGLang or vLLM instance reported (chutesai/chutes-api api/chute/util.py, get_and_store_llm_details).
  if ('chute_id' in entry || (isObject(entry['price']) && isObject(entry['pricing']))) return 'chutes';
  switch (entry['owned_by']) {
    case 'vllm':
      return 'vllm';
    case 'sglang':
      return 'sglang';
    // Ollama reports the model's namespace, "library" for every official model (ollama/ollama openai/openai.go ToListCompletion).
    case 'library':
      return 'ollama';
    default:
      return 'generic';
  }
}

/** `*` matches any run of characters; everything else literally, case-insensitive. */
export function matchesModelPattern(pattern: string, model: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'i').test(model);
}

export interface MappedReasoningEffort {
  /** The value to send as `reasoning_effort`, or undefined to send none. */
  readonly effort: string | undefined;
  /** Said when the value sent differs from the request's. */
  readonly warning: string | null;
}

/** The request's `reasoning.effort` as this server accepts it (see BackendProfile.reasoningEfforts). */
export function mapReasoningEffort(profile: BackendProfile, requested: string): MappedReasoningEffort {
  const accepted = profile.reasoningEfforts;
  if (accepted === 'as-sent' || (accepted as readonly string[]).includes(requested)) return { effort: requested, warning: null };
  const listed = accepted.join(', ');
  if (requested === 'none') {
    const how = profile.thinkingSwitch === null ? '' : `; thinking is switched off through chat_template_kwargs.${profile.thinkingSwitch}`;
    return { effort: undefined, warning: `'reasoning.effort' 'none' is not sent: the backend (${profile.name}) accepts ${listed}${how}.` };
  }
  const requestedRank = (REASONING_EFFORT_LADDER as readonly string[]).indexOf(requested);
  const ladder = accepted.filter((level) => level !== 'none');
  if (requestedRank === -1 || ladder.length === 0) {
    return { effort: undefined, warning: `Ignored 'reasoning.effort' '${requested}': the backend (${profile.name}) accepts ${listed}.` };
  }
  const rank = (level: ReasoningEffortLevel) => (REASONING_EFFORT_LADDER as readonly string[]).indexOf(level);
  const atOrBelow = ladder.filter((level) => rank(level) <= requestedRank);
  const chosen = atOrBelow.at(-1) ?? (ladder[0] as ReasoningEffortLevel);
  return { effort: chosen, warning: `'reasoning.effort' '${requested}' sent as '${chosen}': the backend (${profile.name}) accepts ${listed}.` };
}

function buildProfile(backend: BackendName, family: (typeof MODEL_FAMILIES)[number] | null): BackendProfile {
  const { templateKwargs, ...defaults } = BACKEND_DEFAULTS[backend];
  if (family === null) return { name: backend, ...defaults };
  const { thinkingSwitch, ...familySettings } = family.settings;
  // A server that takes no template kwargs (Ollama) or may reject unknown fields (generic) gets no switch.
  const settings = templateKwargs && thinkingSwitch !== undefined ? { ...familySettings, thinkingSwitch } : familySettings;
  return { name: `${backend}/${family.family}`, ...defaults, ...settings };
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
