import { InvalidRequestError } from '@rgw/errors';
import type { ChatUserContentPart } from './chat-request.ts';
import { decodeTextFileData } from './decode-text-file-data.ts';
import { readKnownContentPart, type KnownResponsesContentPart, type ResponsesContentPart } from './responses-input-item-schema.ts';

/**
 * Responses content parts → Chat user content parts (responses-api.md §2.2). Text and refusals
 * become text; images become `image_url` parts; text files are inlined as text because open Chat
 * servers have no file parts. What cannot be represented without a file store (an image or file
 * given only by `file_id`, PDFs) is a 400: silently dropping it would let the model answer about
 * a document it never saw. Unknown part types are dropped with a warning.
 *
 * `path` is the parts' location for errors and warnings, e.g. `input[2].content`.
 */
export function convertContentPartsToChat(parts: readonly ResponsesContentPart[], path: string, warnings: string[]): ChatUserContentPart[] {
  const converted: ChatUserContentPart[] = [];
  parts.forEach((part, index) => {
    const where = `${path}[${index}]`;
    const known = readKnownContentPart(part);
    switch (known?.type) {
      case 'input_text':
      case 'output_text':
        converted.push({ type: 'text', text: known.text });
        return;
      case 'refusal':
        converted.push({ type: 'text', text: known.refusal });
        return;
      case 'input_image': {
        if (typeof known.image_url !== 'string' || known.image_url === '') {
          throw new InvalidRequestError(
            `Invalid '${where}': images given only by 'file_id' are not supported; send 'image_url' with a URL or a base64 data URL.`,
            { param: where, code: 'unsupported_value' },
          );
        }
        const imagePart: ChatUserContentPart = { type: 'image_url', image_url: { url: known.image_url } };
        if (known.detail === 'low' || known.detail === 'high' || known.detail === 'auto') imagePart.image_url.detail = known.detail;
        if (known.detail === 'original') {
          // Chat knows no "original"; "high" is the closest (full-resolution tiles).
          imagePart.image_url.detail = 'high';
          warnings.push(`${where}.detail: 'original' is sent as 'high'.`);
        }
        converted.push(imagePart);
        return;
      }
      case 'input_file':
        converted.push({ type: 'text', text: readInlineFileText(known, where) });
        return;
      case undefined:
        warnings.push(`${where}: dropped content part of type '${part.type}'; it has no Chat Completions equivalent.`);
        return;
    }
  });
  return converted;
}

function readInlineFileText(file: Extract<KnownResponsesContentPart, { type: 'input_file' }>, where: string): string {
  const filename = file.filename ?? 'file';
  if (typeof file.file_data !== 'string' || file.file_data === '') {
    const source = typeof file.file_id === 'string' ? "'file_id'" : typeof file.file_url === 'string' ? "'file_url'" : 'no data';
    throw new InvalidRequestError(
      `Invalid '${where}': files given by ${source} are not supported; send text files inline as 'file_data' (a base64 data URL).`,
      { param: where, code: 'unsupported_value' },
    );
  }
  const decoded = decodeTextFileData(file.file_data, file.filename);
  if ('mediaType' in decoded) {
    throw new InvalidRequestError(
      `Invalid '${where}': files of type '${decoded.mediaType}' cannot be sent to this model; only text files (text/*, JSON, XML, YAML, source code) are supported. Extract the text and send it as 'input_text'.`,
      { param: where, code: 'unsupported_value' },
    );
  }
  // Tagged with its name so the model can tell several files apart and refer to them.
  return `<file name="${filename}">\n${decoded.text}\n</file>`;
}

/** All-text content becomes one string (parts joined by blank lines): friendlier to open chat templates. */
export function collapseChatContent(parts: readonly ChatUserContentPart[]): string | ChatUserContentPart[] {
  const texts: string[] = [];
  for (const part of parts) {
    if (part.type !== 'text') return [...parts];
    texts.push(part.text);
  }
  return texts.join('\n\n');
}
