import type { ChatCompletion, ChatCompletionChunk } from './chat-chunk-schema.ts';
import type { ChatStreamEvent } from './converter-contract.ts';

/**
 * A non-streaming Chat answer as the stream it is equivalent to, so the non-streaming path runs the
 * same state machine (house style §6): one chunk carrying the message (reasoning, refusal, content,
 * tool calls — the converter reads them in that order) and its finish_reason, a usage chunk, `[DONE]`.
 */
export function convertChatCompletionToStreamEvents(completion: ChatCompletion): ChatStreamEvent[] {
  const events: ChatStreamEvent[] = [];
  const choice = completion.choices?.find((candidate) => (candidate.index ?? 0) === 0);
  if (choice) {
    const message = choice.message;
    const chunk: ChatCompletionChunk = {
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      choices: [
        {
          index: 0,
          delta: message
            ? {
                role: message.role,
                reasoning_content: message.reasoning_content,
                reasoning: message.reasoning,
                refusal: message.refusal,
                content: message.content,
                // Whole calls: a message's tool_calls carry no `index`, their position is it.
                tool_calls: message.tool_calls?.map((call, position) => ({ ...call, index: call.index ?? position })),
              }
            : null,
          finish_reason: choice.finish_reason,
          logprobs: choice.logprobs,
        },
      ],
    };
    events.push({ type: 'chunk', chunk });
  }
  if (completion.usage) {
    events.push({ type: 'chunk', chunk: { id: completion.id, object: 'chat.completion.chunk', choices: [], usage: completion.usage } });
  }
  events.push({ type: 'done' });
  return events;
}
