// Go's path.Match, which Pebble's file listing applies to each entry name (P:internals/daemon/
// api_files.go listFiles). Its laziness matters: a malformed pattern is only reported when a name
// is matched against it, so listing an empty directory with a bad pattern answers 200 and an empty
// list, while a directory with entries answers 400 "syntax error in pattern". Like Go, the pattern
// works on bytes except inside character classes and for `?`, which take one UTF-8 character.

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
  }
}

/** Split off a leading run of stars and the literal chunk after it (up to the next star outside []). */
function scanChunk(pattern: string): { star: boolean; chunk: string; rest: string } {
  let i = 0;
  while (i < pattern.length && pattern[i] === '*') i++;
  const star = i > 0;
  const p = pattern.slice(i);
  let inRange = false;
  for (let j = 0; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') {
      if (j + 1 < p.length) j++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) return { star, chunk: p.slice(0, j), rest: p.slice(j) };
  }
  return { star, chunk: p, rest: '' };
}

/** One (possibly escaped) character of a class; a class may not end here. */
function classChar(chunk: string): { ch: number; rest: string } {
  let c = chunk;
  if (c === '' || c[0] === '-' || c[0] === ']') throw new BadPatternError();
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c === '') throw new BadPatternError();
  }
  const ch = c.codePointAt(0)!;
  const rest = c.slice(ch > 0xffff ? 2 : 1);
  if (rest === '') throw new BadPatternError();
  return { ch, rest };
}

/** Parse a class body after `[`: whether `r` is in it, and the chunk after `]`. */
function matchClass(chunk: string, r: number | undefined): { match: boolean; rest: string } {
  let c = chunk;
  let negated = false;
  if (c[0] === '^') {
    negated = true;
    c = c.slice(1);
  }
  let match = false;
  for (let n = 0; ; n++) {
    if (c[0] === ']' && n > 0) return { match: match !== negated, rest: c.slice(1) };
    const lo = classChar(c);
    let hi = lo;
    if (lo.rest[0] === '-') hi = classChar(lo.rest.slice(1));
    c = hi.rest;
    if (r !== undefined && lo.ch <= r && r <= hi.ch) match = true;
  }
}

/**
 * Whether `chunk` (no stars) matches the start of `s`; returns what is left of `s`, or null.
 * Like Go, it keeps checking the rest of the chunk's syntax after a mismatch.
 */
function matchChunk(chunk: string, s: string): string | null {
  let failed = false;
  let c = chunk;
  let rest = s;
  const takeChar = (): number => {
    const r = rest.codePointAt(0)!;
    rest = rest.slice(r > 0xffff ? 2 : 1);
    return r;
  };
  while (c !== '') {
    if (!failed && rest === '') failed = true;
    if (c[0] === '[') {
      const r = failed ? undefined : takeChar();
      const cls = matchClass(c.slice(1), r);
      c = cls.rest;
      if (!cls.match) failed = true;
    } else if (c[0] === '?') {
      if (!failed && takeChar() === 0x2f) failed = true;
      c = c.slice(1);
    } else {
      if (c[0] === '\\') {
        c = c.slice(1);
        if (c === '') throw new BadPatternError();
      }
      if (!failed) {
        if (c[0] !== rest[0]) failed = true;
        rest = rest.slice(1);
      }
      c = c.slice(1);
    }
  }
  return failed ? null : rest;
}

/** Go's path.Match(pattern, name); throws BadPatternError where Go returns ErrBadPattern. */
export function goPathMatch(pattern: string, name: string): boolean {
  let p = pattern;
  let n = name;
  outer: while (p !== '') {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk === '') return !n.includes('/');
    const t = matchChunk(chunk, n);
    if (t !== null && (t === '' || p !== '')) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, n.slice(i + 1));
        if (t2 === null || (p === '' && t2 !== '')) continue;
        n = t2;
        continue outer;
      }
    }
    // No match: the rest of the pattern must still be well-formed.
    while (p !== '') {
      const next = scanChunk(p);
      p = next.rest;
      matchChunk(next.chunk, '');
    }
    return false;
  }
  return n === '';
}
