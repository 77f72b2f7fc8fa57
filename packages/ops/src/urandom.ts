/**
 * Random bytes from the kernel's source, for a hook's ids and tokens. node:crypto would cost a
 * hook about 9 ms of CPU time to load (median of 31 runs of `node -e`, Node 24.22.3); on Linux it
 * draws from the same CSPRNG as /dev/urandom.
 */
import fs from 'node:fs';

export function urandom(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    // Linux returns reads of up to 256 bytes from /dev/urandom whole; checked all the same.
    if (fs.readSync(fd, bytes, 0, size, null) !== size) throw new Error('short read from /dev/urandom');
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}
