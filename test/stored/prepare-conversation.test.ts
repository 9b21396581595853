import pino, { type LogFn } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryResponseStore, type StoredResponseRecord } from '@rgw/response-store';
import { parseResponsesRequest } from '@rgw/responses';
import { createReasoningSealer } from '../../apps/gateway/src/security/create-reasoning-sealer.ts';
import { sealCompactionSummary } from '../../apps/gateway/src/conversation/compaction-summary.ts';
import { prepareConversation } from '../../apps/gateway/src/conversation/prepare-conversation.ts';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const sealer = createReasoningSealer('k'.repeat(40));

function turn(id: string, question: string, answer: string, ancestorIds: string[] = []): StoredResponseRecord {
  return {
    response: {
      id,
      status: 'completed',
      instructions: `instructions of ${id}`,
      output: [
        { id: `msg_out_${id}`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: answer, annotations: [] }] },
      ],
    },
    inputItems: [{ id: `msg_in_${id}`, type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: question }] }],
    ancestorIds,
  };
}

function setup() {
  const store = createMemoryResponseStore({ maxEntries: 100, ttlSeconds: 60 });
  let next = 0;
  const warn = vi.fn<LogFn>();
  const log = Object.assign(pino({ level: 'silent' }), { warn });
  const options = { store, owner: ALICE, createId: (prefix: string) => `${prefix}_new${++next}`, unseal: (blob: string) => sealer.unseal(blob), log };
  return { store, options, warn };
}

function texts(input: unknown): string[] {
  return (input as { content: { text: string }[] }[]).map((item) => item.content.map((part) => part.text).join(''));
}

describe('prepareConversation', () => {
  it('rebuilds a chain from previous_response_id: each earlier input and output, oldest first, then the new input', async () => {
    const { store, options } = setup();
    await store.save(ALICE, turn('resp_1', 'Q1', 'A1'));
    await store.save(ALICE, turn('resp_2', 'Q2', 'A2', ['resp_1']));
    const prepared = await prepareConversation(
      parseResponsesRequest({ model: 'm', input: 'Q3', previous_response_id: 'resp_2', instructions: 'mine' }),
      options,
    );
    expect(texts(prepared.request.input)).toEqual(['Q1', 'A1', 'Q2', 'A2', 'Q3']);
    expect(prepared.request.instructions).toBe('mine');
    expect(prepared.ancestorIds).toEqual(['resp_1', 'resp_2']);
    expect(prepared.inputItems).toEqual([
      { id: 'msg_new1', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Q3' }] },
    ]);
  });

  it('answers an unknown or foreign previous_response_id with the API’s 400 previous_response_not_found', async () => {
    const { store, options } = setup();
    await store.save(BOB, turn('resp_bob', 'Q', 'A'));
    for (const id of ['resp_unknown', 'resp_bob']) {
      await expect(prepareConversation(parseResponsesRequest({ model: 'm', input: 'hi', previous_response_id: id }), options)).rejects.toMatchObject({
        status: 400,
        type: 'invalid_request_error',
        param: 'previous_response_id',
        code: 'previous_response_not_found',
        message: `Previous response with id '${id}' not found.`,
      });
    }
  });

  it('resolves item references to the owner’s stored items and refuses unknown ones naming input[i]', async () => {
    const { store, options } = setup();
    await store.save(ALICE, turn('resp_1', 'Q1', 'A1'));
    await store.save(BOB, turn('resp_b', 'QB', 'AB'));
    const prepared = await prepareConversation(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'user', content: 'Q1 again' },
          { type: 'item_reference', id: 'msg_out_resp_1' },
          { role: 'user', content: 'next' },
        ],
      }),
      options,
    );
    expect(texts(prepared.request.input)).toEqual(['Q1 again', 'A1', 'next']);
    expect(prepared.inputItems.map((item) => item.id)).toEqual(['msg_new1', 'msg_out_resp_1', 'msg_new2']);
    await expect(
      prepareConversation(
        parseResponsesRequest({
          model: 'm',
          input: [
            { role: 'user', content: 'x' },
            { type: 'item_reference', id: 'msg_out_resp_b' },
          ],
        }),
        options,
      ),
    ).rejects.toMatchObject({ status: 400, param: 'input[1]', code: 'item_not_found' });
  });

  it('expands a compaction item into a user message carrying the summary, and refuses one it cannot open', async () => {
    const { options } = setup();
    const blob = sealCompactionSummary('We fixed the parser; tests remain.', (text) => sealer.seal(text));
    const prepared = await prepareConversation(
      parseResponsesRequest({
        model: 'm',
        input: [
          { type: 'compaction', encrypted_content: blob },
          { role: 'user', content: 'continue' },
        ],
      }),
      options,
    );
    const [summary] = texts(prepared.request.input);
    expect(summary).toContain('We fixed the parser; tests remain.');
    expect((prepared.request.input as { role: string }[])[0]?.role).toBe('user');
    // input_items keep the compaction item itself (it is expanded again on every use).
    expect(prepared.inputItems[0]).toMatchObject({ type: 'compaction', encrypted_content: blob });
    await expect(
      prepareConversation(
        parseResponsesRequest({ model: 'm', input: [{ type: 'compaction', encrypted_content: sealer.seal('reasoning, not a summary') }] }),
        options,
      ),
    ).rejects.toMatchObject({ status: 400, param: 'input[0].encrypted_content', code: 'invalid_encrypted_content' });
  });

  it('drops a tampered reasoning blob with a warning instead of failing the turn', async () => {
    const { options, warn } = setup();
    const blob = sealer.seal('secret thoughts');
    const tampered = `${blob.slice(0, -4)}AAAA`;
    const prepared = await prepareConversation(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'user', content: 'q' },
          { type: 'reasoning', summary: [], encrypted_content: tampered },
          { role: 'assistant', content: 'a' },
        ],
      }),
      options,
    );
    expect((prepared.request.input as Record<string, unknown>[])[1]).toMatchObject({ type: 'reasoning', encrypted_content: null });
    expect(warn).toHaveBeenCalledOnce();
  });

  it('refuses, when chaining, a tool output that answers no call of the conversation, and accepts one that does', async () => {
    const { store, options } = setup();
    const withCall = turn('resp_call', 'Q', 'A');
    await store.save(ALICE, {
      ...withCall,
      response: { ...withCall.response, output: [{ id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}', status: 'completed' }] },
    });
    const answer = (callId: string) =>
      parseResponsesRequest({ model: 'm', previous_response_id: 'resp_call', input: [{ type: 'function_call_output', call_id: callId, output: 'ok' }] });
    await expect(prepareConversation(answer('call_missing'), options)).rejects.toMatchObject({
      status: 400,
      param: 'input[0].call_id',
      code: 'invalid_value',
      message: 'No tool call found for function call output with call_id call_missing.',
    });
    const prepared = await prepareConversation(answer('call_1'), options);
    expect((prepared.request.input as { type: string }[]).map((item) => item.type)).toEqual(['message', 'function_call', 'function_call_output']);
    // Without a chain the converter decides (it keeps an orphan output as text).
    await expect(
      prepareConversation(parseResponsesRequest({ model: 'm', input: [{ type: 'function_call_output', call_id: 'call_missing', output: 'ok' }] }), options),
    ).resolves.toBeDefined();
  });
});
