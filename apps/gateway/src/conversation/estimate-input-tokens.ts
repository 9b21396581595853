import type { ChatCompletionRequest } from '@rgw/responses';

/**
 * Token count for `POST /v1/responses/input_tokens`: the Chat request the gateway would send,
 * counted with OpenAI's o200k_base BPE (gpt-tokenizer, pure JS, offline) plus the chat format's
 * framing (3 tokens per message, 3 to prime the answer, as OpenAI's cookbook counts it).
 * Exact for o200k models' text; an ESTIMATE for the open models behind Chat backends, whose
 * tokenizers differ (see docs/stored-responses.md for measured spreads). Images count a flat
 * 765 tokens (OpenAI's high-detail 1024×1024 cost); files count their text.
 */
export async function estimateInputTokens(chatRequest: Pick<ChatCompletionRequest, 'messages' | 'tools'>): Promise<number> {
  // Loaded on first use: the BPE tables cost ~0.6 s and ~100 MB, which most replicas never need.
  const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
  let total = 3;
  for (const message of chatRequest.messages) {
    total += 3 + countTokens(message.role);
    const record = message as unknown as Record<string, unknown>;
    total += countContent(record['content'], countTokens);
    for (const field of ['reasoning_content', 'name', 'tool_call_id'] as const) {
      if (typeof record[field] === 'string') total += countTokens(record[field]);
    }
    if (Array.isArray(record['tool_calls'])) total += countTokens(JSON.stringify(record['tool_calls']));
  }
  if (chatRequest.tools && chatRequest.tools.length > 0) total += countTokens(JSON.stringify(chatRequest.tools));
  return total;
}

const IMAGE_TOKENS = 765;

function countContent(content: unknown, countTokens: (text: string) => number): number {
  if (typeof content === 'string') return countTokens(content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content as Record<string, unknown>[]) {
    if (typeof part['text'] === 'string') total += countTokens(part['text']);
    else if (part['type'] === 'image_url') total += IMAGE_TOKENS;
    else if (part['type'] === 'file' && typeof part['file'] === 'object') total += countTokens(JSON.stringify(part['file']));
  }
  return total;
}
