/**
 * Decodes an `input_file.file_data` that holds text, so it can be inlined into a Chat message
 * (open Chat servers have no file parts). Accepts a data URL (`data:text/markdown;base64,…`,
 * `data:,plain%20text`) or bare base64 plus a filename with a text extension, as some clients send.
 * Returns the media type instead when the data is not text (PDF, images, invalid UTF-8).
 */
export function decodeTextFileData(fileData: string, filename?: string | null): { readonly text: string } | { readonly mediaType: string } {
  const dataUrl = /^data:([^,;]*)((?:;[^,;]*)*),/s.exec(fileData);
  if (dataUrl === null) {
    if (!hasTextExtension(filename)) return { mediaType: 'application/octet-stream' };
    return decodeBytes(Buffer.from(fileData, 'base64'), 'application/octet-stream');
  }
  // RFC 2397: an empty media type means text/plain.
  const mediaType = (dataUrl[1] ?? '').trim().toLowerCase() || 'text/plain';
  const isBase64 = (dataUrl[2] ?? '').toLowerCase().split(';').includes('base64');
  if (!isTextMediaType(mediaType) && !(mediaType === 'application/octet-stream' && hasTextExtension(filename))) return { mediaType };
  const payload = fileData.slice(dataUrl[0].length);
  if (isBase64) return decodeBytes(Buffer.from(payload, 'base64'), mediaType);
  try {
    return { text: decodeURIComponent(payload) };
  } catch {
    return { mediaType };
  }
}

function decodeBytes(bytes: Uint8Array, mediaType: string): { readonly text: string } | { readonly mediaType: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { mediaType };
  }
}

const textApplicationTypes: ReadonlySet<string> = new Set([
  'application/json',
  'application/x-ndjson',
  'application/jsonl',
  'application/xml',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/typescript',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/x-sh',
  'application/sql',
  'application/graphql',
  'application/csv',
  'application/x-httpd-php',
  'application/x-python',
]);

function isTextMediaType(mediaType: string): boolean {
  return mediaType.startsWith('text/') || textApplicationTypes.has(mediaType) || mediaType.endsWith('+json') || mediaType.endsWith('+xml');
}

const textExtensions: ReadonlySet<string> = new Set(
  (
    'txt md markdown rst adoc csv tsv json jsonl ndjson xml yaml yml toml ini cfg conf log env html htm css scss ' +
    'js mjs cjs jsx ts tsx py rb go rs java kt kts c h cc cpp hpp cs php sh bash zsh sql graphql proto swift scala lua pl r tex diff patch'
  ).split(' '),
);

function hasTextExtension(filename: string | null | undefined): boolean {
  const extension = filename?.toLowerCase().split('.').at(-1);
  return extension !== undefined && filename?.includes('.') === true && textExtensions.has(extension);
}
