/**
 * Files attached to remote objects. The stream carries only their `uri` (`/storage/get/...` on the
 * remote); OpenCTI's own synchronizer downloads each with the remote token and sends it inline, as
 * base64 `data` in the file's entry (opencti-stream.md §3.4, pitfall 7: otherwise the files are
 * lost). This does the same for the OpenCTI extension's `files` and the older top-level
 * `x_opencti_files`. Downloads run one at a time in the whole process, so at most one file's
 * content (and the message it goes into) is held at once, however many objects carry files.
 */
import http from 'node:http';
import https from 'node:https';
import { OCTI_EXTENSION } from './classify.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file lists of an object (the extension's, then the top-level one), where present. */
function fileLists(data: Obj): unknown[][] {
  const out: unknown[][] = [];
  const exts = data['extensions'];
  const ext = isObj(exts) ? exts[OCTI_EXTENSION] : undefined;
  if (isObj(ext) && Array.isArray(ext['files'])) out.push(ext['files'] as unknown[]);
  if (Array.isArray(data['x_opencti_files'])) out.push(data['x_opencti_files'] as unknown[]);
  return out;
}

/** The uris of the object's files that have no content yet. */
export function filesToFetch(data: Obj): string[] {
  const uris: string[] = [];
  for (const list of fileLists(data)) for (const f of list) if (isObj(f) && typeof f['uri'] === 'string' && f['uri'] !== '' && f['data'] === undefined) uris.push(f['uri']);
  return uris;
}

/** The object's JSON text with each fetched file's content inline (base64 `data`). */
export function withFileContents(dataText: string, contents: ReadonlyMap<string, Buffer>): string {
  const data = JSON.parse(dataText) as Obj;
  for (const list of fileLists(data)) {
    for (const f of list) {
      if (!isObj(f) || typeof f['uri'] !== 'string') continue;
      const bytes = contents.get(f['uri']);
      if (bytes) f['data'] = bytes.toString('base64');
    }
  }
  return JSON.stringify(data);
}

export interface RemoteFiles {
  /** The content of one file; rejects with the reason (HTTP status, network error, timeout). */
  fetch(uri: string, signal: AbortSignal): Promise<Buffer>;
}

/** Downloads from the remote's storage with its token, one at a time. */
export function remoteFiles(opts: { url: string; token: string; sslVerify: boolean; timeoutMs: number }): RemoteFiles {
  let queue: Promise<unknown> = Promise.resolve();
  const get = (uri: string, signal: AbortSignal) =>
    new Promise<Buffer>((resolve, reject) => {
      const path = uri.startsWith('/') ? uri : `/storage/get/${uri}`;
      const target = new URL(`${opts.url.replace(/\/+$/, '')}${path}`);
      const mod = target.protocol === 'https:' ? https : http;
      const req = mod.get(target, { headers: { authorization: `Bearer ${opts.token}` }, rejectUnauthorized: opts.sslVerify, timeout: opts.timeoutMs, signal }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode ?? '?'} for ${path}`));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms for ${path}`)));
      req.on('error', reject);
    });
  return {
    fetch(uri, signal) {
      const next = queue.then(() => get(uri, signal));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
