/**
 * Files an imported object carries inline: the platform's synchronizer downloads each file of the
 * OpenCTI extension's `files` (and the older top-level `x_opencti_files`) from the remote's
 * `/storage/get/...` and sends it as base64 `data` in the entry (opencti-stream.md §3.4); the
 * platform stores the content and keeps the entry. The emulator keeps the content apart, by object
 * and file name, and the entry without `data`, so the object compares with the remote's.
 */
import type { Stix } from '../stix.js';
import { OCTI_EXT } from '../stix.js';

export interface InlineFile {
  name: string;
  bytes: Buffer;
}

type Entry = Record<string, unknown>;
const isEntry = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The object without inline file contents, and the contents it carried. */
export function takeInlineFiles(item: Stix): { stored: Stix; files: InlineFile[] } {
  const files: InlineFile[] = [];
  const strip = (list: unknown): unknown => {
    if (!Array.isArray(list)) return list;
    return list.map((f: unknown) => {
      if (!isEntry(f) || typeof f.data !== 'string') return f;
      const { data, ...rest } = f;
      files.push({ name: String(f.name ?? f.uri ?? ''), bytes: Buffer.from(data as string, 'base64') });
      return rest;
    });
  };
  const stored: Stix = { ...item };
  if (stored.x_opencti_files !== undefined) stored.x_opencti_files = strip(stored.x_opencti_files);
  const exts = stored.extensions;
  if (isEntry(exts) && isEntry(exts[OCTI_EXT]) && (exts[OCTI_EXT] as Entry).files !== undefined) {
    const ext = exts[OCTI_EXT] as Entry;
    stored.extensions = { ...exts, [OCTI_EXT]: { ...ext, files: strip(ext.files) } };
  }
  return { stored, files };
}
