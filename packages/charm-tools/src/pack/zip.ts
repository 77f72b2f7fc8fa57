/**
 * Just enough ZIP for charms: write a deflated archive that keeps Unix modes (a charm's `dispatch`
 * must stay executable), and read one back (tests, `sim` on a .charm). Files only, under 4 GiB,
 * no encryption; what charmcraft's `zipfile` writes and Juju reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, with forward slashes. */
  name: string;
  data: Buffer;
  /** Unix permission bits, e.g. 0o755. */
  mode: number;
}

const S_IFREG = 0o100000;

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Write `entries` as a ZIP file (deflate, Unix modes in the external attributes). */
export function writeZip(file: string, entries: readonly ZipEntry[], when = new Date()): void {
  const { time, date } = dosTime(when);
  const fd = fs.openSync(file, 'w');
  const central: Buffer[] = [];
  let offset = 0;
  const write = (b: Buffer) => {
    fs.writeSync(fd, b);
    offset += b.length;
  };
  try {
    for (const e of entries) {
      const name = Buffer.from(e.name, 'utf8');
      const compressed = zlib.deflateRawSync(e.data, { level: 6 });
      const crc = zlib.crc32(e.data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(8, 8); // deflate
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(date, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(compressed.length, 18);
      local.writeUInt32LE(e.data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      const at = offset;
      write(local);
      write(name);
      write(compressed);
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
      c.writeUInt16LE(20, 6);
      c.writeUInt16LE(0x0800, 8);
      c.writeUInt16LE(8, 10);
      c.writeUInt16LE(time, 12);
      c.writeUInt16LE(date, 14);
      c.writeUInt32LE(crc, 16);
      c.writeUInt32LE(compressed.length, 20);
      c.writeUInt32LE(e.data.length, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt32LE(((S_IFREG | (e.mode & 0o7777)) << 16) >>> 0, 38);
      c.writeUInt32LE(at, 42);
      central.push(c, name);
    }
    const start = offset;
    for (const b of central) write(b);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(offset - start, 12);
    end.writeUInt32LE(start, 16);
    write(end);
  } finally {
    fs.closeSync(fd);
  }
}

/** Read every file of a ZIP archive (stored or deflated), with its Unix mode. */
export function readZip(file: string): ZipEntry[] {
  const buf = fs.readFileSync(file);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a ZIP archive (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: corrupt central directory at entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const attrs = buf.readUInt32LE(p + 38);
    const localAt = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const dataAt = localAt + 30 + buf.readUInt16LE(localAt + 26) + buf.readUInt16LE(localAt + 28);
    const raw = buf.subarray(dataAt, dataAt + csize);
    if (method !== 0 && method !== 8) throw new Error(`${file}: ${name} uses unsupported compression ${method}`);
    if (!name.endsWith('/')) out.push({ name, data: method === 8 ? zlib.inflateRawSync(raw) : Buffer.from(raw), mode: (attrs >>> 16) & 0o7777 || 0o644 });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Unpack a ZIP archive into a directory, keeping modes. */
export function extractZip(file: string, dir: string): void {
  for (const e of readZip(file)) {
    const target = path.join(dir, e.name);
    if (!target.startsWith(path.resolve(dir) + path.sep)) throw new Error(`${file}: entry ${e.name} escapes the target directory`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, e.data, { mode: e.mode });
    fs.chmodSync(target, e.mode);
  }
}

/** Every file under `dir` (symlinks followed, as charmcraft's packer does), as zip entries. */
export function collectTree(dir: string, prefix = ''): ZipEntry[] {
  const out: ZipEntry[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (st.isDirectory()) out.push(...collectTree(p, rel));
    else if (st.isFile()) out.push({ name: rel, data: fs.readFileSync(p), mode: st.mode & 0o7777 });
  }
  return out;
}
