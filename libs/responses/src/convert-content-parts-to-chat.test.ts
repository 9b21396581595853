import { describe, expect, it } from 'vitest';
import { collapseChatContent, convertContentPartsToChat } from './convert-content-parts-to-chat.ts';
import type { ResponsesContentPart } from './responses-input-item-schema.ts';

function convert(parts: ResponsesContentPart[]) {
  const warnings: string[] = [];
  return { parts: convertContentPartsToChat(parts, 'input[0].content', warnings), warnings };
}

const dataUrl = (mediaType: string, text: string) => `data:${mediaType};base64,${Buffer.from(text).toString('base64')}`;

describe('convertContentPartsToChat', () => {
  it('maps text, output text and refusals to text parts', () => {
    expect(
      convert([
        { type: 'input_text', text: 'a' },
        { type: 'output_text', text: 'b' },
        { type: 'refusal', refusal: 'no' },
      ]).parts,
    ).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
      { type: 'text', text: 'no' },
    ]);
  });

  it('maps images by URL or data URL with their detail; "original" becomes "high" with a warning', () => {
    const { parts, warnings } = convert([
      { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' },
      { type: 'input_image', image_url: 'data:image/jpeg;base64,/9j/', detail: 'original' },
    ]);
    expect(parts).toEqual([
      { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'auto' } },
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/', detail: 'high' } },
    ]);
    expect(warnings).toEqual(["input[0].content[1].detail: 'original' is sent as 'high'."]);
  });

  it('refuses an image given only by file_id', () => {
    expect(() =>
      convert([
        { type: 'input_text', text: 'x' },
        { type: 'input_image', file_id: 'file-1', detail: 'auto' },
      ]),
    ).toThrow(expect.objectContaining({ status: 400, param: 'input[0].content[1]', code: 'unsupported_value' }));
  });

  it('inlines text files with their filename, from data URLs and from bare base64 with a text extension', () => {
    const { parts } = convert([
      { type: 'input_file', filename: 'notes.md', file_data: dataUrl('text/markdown', '# Title\nnaïve ✓') },
      { type: 'input_file', filename: 'data.json', file_data: dataUrl('application/json', '{"a":1}') },
      { type: 'input_file', filename: 'run.py', file_data: Buffer.from('print(1)').toString('base64') },
      { type: 'input_file', file_data: 'data:,plain%20text' },
    ]);
    expect(parts).toEqual([
      { type: 'text', text: '<file name="notes.md">\n# Title\nnaïve ✓\n</file>' },
      { type: 'text', text: '<file name="data.json">\n{"a":1}\n</file>' },
      { type: 'text', text: '<file name="run.py">\nprint(1)\n</file>' },
      { type: 'text', text: '<file name="file">\nplain text\n</file>' },
    ]);
  });

  it.each([
    [{ type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }, "files of type 'application/pdf'"],
    [{ type: 'input_file', file_id: 'file-1' }, "files given by 'file_id'"],
    [{ type: 'input_file', file_url: 'https://example.com/a.txt' }, "files given by 'file_url'"],
    [
      { type: 'input_file', filename: 'a.txt', file_data: `data:text/plain;base64,${Buffer.from([0xff, 0xfe, 0x00]).toString('base64')}` },
      "files of type 'text/plain'",
    ],
  ])('refuses %j, which a Chat backend cannot read', (part, message) => {
    expect(() => convert([part as ResponsesContentPart])).toThrow(
      expect.objectContaining({ status: 400, param: 'input[0].content[0]', message: expect.stringContaining(message) as unknown }),
    );
  });

  it('drops unknown part types with a warning', () => {
    expect(convert([{ type: 'input_audio', input_audio: {} }])).toEqual({
      parts: [],
      warnings: ["input[0].content[0]: dropped content part of type 'input_audio'; it has no Chat Completions equivalent."],
    });
  });
});

describe('collapseChatContent', () => {
  it('collapses all-text content to one string and keeps mixed content as parts', () => {
    expect(
      collapseChatContent([
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ]),
    ).toBe('a\n\nb');
    const mixed = [
      { type: 'text' as const, text: 'a' },
      { type: 'image_url' as const, image_url: { url: 'u' } },
    ];
    expect(collapseChatContent(mixed)).toEqual(mixed);
  });
});
