/**
 * Version 4 UUIDs for connector ids, from the kernel's random source through ops' `urandom`
 * (which spares a hook loading node:crypto for the one id a connector ever generates).
 */
import { urandom } from '@juju-ts/ops';

/** A random UUID, version 4 (RFC 9562 §5.4): 122 random bits, version and variant bits set. */
export function randomUuid(): string {
  const bytes = urandom(16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
