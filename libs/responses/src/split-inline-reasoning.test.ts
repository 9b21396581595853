import { describe, expect, it } from 'vitest';
import { type ContentSegment, createInlineReasoningSplitter } from './split-inline-reasoning.ts';

/** Feeds the deltas one by one; returns what came out of each push (and of end) and the joined result. */
function run(deltas: readonly string[]) {
  const splitter = createInlineReasoningSplitter();
  const steps: ContentSegment[][] = deltas.map((delta) => splitter.push(delta));
  steps.push(splitter.end());
  const all = steps.flat();
  const join = (kind: ContentSegment['kind']) =>
    all
      .filter((segment) => segment.kind === kind)
      .map((segment) => segment.text)
      .join('');
  return { steps, all, reasoning: join('reasoning'), text: join('text') };
}

/** Every way to cut `text` in three (two cut points), so each tag gets cut at every position. */
function everyThreeWayCut(text: string): string[][] {
  const cuts: string[][] = [];
  for (let first = 0; first <= text.length; first += 1) {
    for (let second = first; second <= text.length; second += 1) cuts.push([text.slice(0, first), text.slice(first, second), text.slice(second)]);
  }
  return cuts;
}

// The model output of vLLM's Qwen3 reasoning-parser test (tests/reasoning/test_qwen3_reasoning_parser.py, WITH_THINK).
const WITH_THINK = '<think>This is a reasoning section</think>This is the rest';

describe('createInlineReasoningSplitter', () => {
  it('splits a <think> block opening the answer into reasoning and text', () => {
    expect(run([WITH_THINK])).toMatchObject({ reasoning: 'This is a reasoning section', text: 'This is the rest' });
  });

  it('gives the same split wherever the deltas cut the tags, and never lets a piece of a tag out', () => {
    const wrong = everyThreeWayCut(WITH_THINK).filter((pieces) => {
      const { reasoning, text, all } = run(pieces);
      return reasoning !== 'This is a reasoning section' || text !== 'This is the rest' || all.some((segment) => /[<>]/.test(segment.text));
    });
    expect(wrong).toEqual([]);
  });

  it('holds back only what may still be a tag: plain text goes out in the step it arrived', () => {
    const { steps } = run(['Hello', ' <b>world</b>']);
    expect(steps[0]).toEqual([{ kind: 'text', text: 'Hello' }]);
    expect(steps[1]).toEqual([{ kind: 'text', text: ' <b>world</b>' }]);
  });

  it('holds a possible opening tag until it is decided, then releases it as text when it is not one', () => {
    const { steps } = run(['<', 'th', 'ought>']);
    expect(steps.slice(0, 2)).toEqual([[], []]);
    expect(steps[2]).toEqual([{ kind: 'text', text: '<thought>' }]);
  });

  it('streams reasoning as it comes, holding back only a possible closing tag', () => {
    const { steps } = run(['<think>step one', ' and two</', 'think>answer']);
    expect(steps[0]).toEqual([{ kind: 'reasoning', text: 'step one' }]);
    expect(steps[1]).toEqual([{ kind: 'reasoning', text: ' and two' }]);
    expect(steps[2]).toEqual([{ kind: 'text', text: 'answer' }]);
  });

  it('treats <think> after the answer started as text (the model talking about the tag)', () => {
    expect(run(['Use ', '<think>x</think> in prompts.'])).toMatchObject({ reasoning: '', text: 'Use <think>x</think> in prompts.' });
  });

  it('drops the layout whitespace around the block, and an empty block (thinking switched off) is no reasoning', () => {
    expect(run(['\n<think>\nWhy?\n</think>\n\n', 'Because.'])).toMatchObject({ reasoning: 'Why?\n', text: 'Because.' });
    expect(run(['<think>\n\n</think>\n\nHi']).all).toEqual([{ kind: 'text', text: 'Hi' }]);
  });

  it('releases what it held when the content ends: an unclosed block is reasoning, an undecided prefix is text', () => {
    expect(run(['<think>cut off mid-thought</th'])).toMatchObject({ reasoning: 'cut off mid-thought</th', text: '' });
    expect(run(['  <thi'])).toMatchObject({ reasoning: '', text: '  <thi' });
  });

  it('is settled once the answer is plain text, so the converter can bypass it', () => {
    const splitter = createInlineReasoningSplitter();
    splitter.push('<think>a');
    expect(splitter.settled).toBe(false);
    splitter.push('</think>b');
    expect(splitter.settled).toBe(true);
  });
});
