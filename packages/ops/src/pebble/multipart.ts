// A small multipart/form-data encoder and parser for Pebble's files API. Both the client (push,
// pull) and the emulator (write, read) use it. It is written here rather than relying on
// `Response.formData()` because that parser rejects the escaped quotes Go's multipart writer puts
// in file names (`filename="a\"b"`), and because it keeps file contents as raw bytes.

export interface MultipartPart {
  /** The `name` parameter of Content-Disposition. */
  name: string;
  /** The `filename` parameter, when present. */
  filename?: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A boundary Pebble accepts: it requires at least 32 characters. */
export function newBoundary(): string {
  // Web Crypto (a Node global) rather than node:crypto, which is costly to load in a hook.
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex');
}

function quote(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

export interface PartInput {
  name: string;
  filename?: string;
  contentType: string;
  body: Buffer | string;
}

/** Encode parts as a multipart/form-data body. */
export function encodeMultipart(boundary: string, parts: PartInput[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let disposition = `form-data; name="${quote(part.name)}"`;
    if (part.filename !== undefined) disposition += `; filename="${quote(part.filename)}"`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Type: ${part.contentType}\r\nContent-Disposition: ${disposition}\r\n\r\n`,
        'utf8',
      ),
    );
    chunks.push(typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : part.body);
    chunks.push(Buffer.from('\r\n', 'utf8'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(chunks);
}

/** Parse `Content-Type`-style header values: `type/sub; a=1; b="x y"`. */
export function parseHeaderParams(value: string): { value: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  let i = value.indexOf(';');
  const main = (i < 0 ? value : value.slice(0, i)).trim().toLowerCase();
  while (i >= 0 && i < value.length) {
    i++;
    while (value[i] === ' ' || value[i] === '\t') i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        v += value[i];
        i++;
      }
      i++; // closing quote
      const next = value.indexOf(';', i);
      i = next;
    } else {
      const next = value.indexOf(';', i);
      v = (next < 0 ? value.slice(i) : value.slice(i, next)).trim();
      i = next;
    }
    params[key] = v;
    if (i < 0) break;
  }
  return { value: main, params };
}

/** Thrown by parseMultipart for a body that is not well-formed multipart. */
export class MultipartError extends Error {}

/** Split a multipart body into its parts. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`, 'utf8');
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new MultipartError('multipart: NextPart: EOF');
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
    // Skip optional transport padding and the CRLF after the delimiter.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    else throw new MultipartError('multipart: expected CRLF after boundary');
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'utf8');
    if (headerEnd < 0) throw new MultipartError('multipart: unterminated part headers');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headerEnd).toString('utf8').split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon < 0) throw new MultipartError(`multipart: malformed header line ${JSON.stringify(line)}`);
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const contentStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'utf8'), delimiter]), contentStart);
    if (next < 0) throw new MultipartError('multipart: missing closing boundary');
    const disposition = parseHeaderParams(headers['content-disposition'] ?? '');
    const part: MultipartPart = {
      name: disposition.params['name'] ?? '',
      headers,
      body: body.subarray(contentStart, next),
    };
    const filename = disposition.params['filename'];
    if (filename !== undefined) part.filename = filename;
    parts.push(part);
    pos = next + 2;
  }
}
