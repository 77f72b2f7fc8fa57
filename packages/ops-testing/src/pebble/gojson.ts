// Request bodies decoded as Pebble decodes them: Go's json.NewDecoder(body).Decode(&payload)
// (P:internals/daemon/api_*.go), with Go's error texts. What matters for exactness:
// - only the first JSON value is read; whatever follows it is ignored;
// - an empty body is "EOF", a truncated one "unexpected EOF", a syntax error reads
//   "invalid character 'x' <where>" with the scanner's contexts (encoding/json/scanner.go);
// - object keys match struct fields case-insensitively, unknown keys are ignored, null leaves a
//   field as it is;
// - a wrong type is "json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type
//   <type>" (encoding/json/decode.go UnmarshalTypeError); the first one is reported.

export class GoJsonError extends Error {}

// ---------------------------------------------------------------------------------------------
// Syntax: a scanner over bytes that finds where the first value ends, or fails as Go's does.

/** Go's quoteChar for the byte the scanner stopped at. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80 && c < 0xa0) return `'\\u00${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

class Scanner {
  i = 0;
  constructor(private readonly b: Buffer) {}

  private fail(where: string): never {
    if (this.i >= this.b.length) throw new GoJsonError('unexpected EOF');
    throw new GoJsonError(`invalid character ${quoteChar(this.b[this.i]!)} ${where}`);
  }
  private peek(): number | undefined {
    return this.b[this.i];
  }
  private ws(): void {
    while ([0x20, 0x09, 0x0a, 0x0d].includes(this.b[this.i] ?? -1)) this.i++;
  }
  private expect(c: number, where: string): void {
    if (this.peek() !== c) this.fail(where);
    this.i++;
  }

  /** Scan one value and return the index just after it. */
  first(): number {
    this.ws();
    if (this.i >= this.b.length) throw new GoJsonError('EOF');
    this.value();
    return this.i;
  }

  private value(): void {
    this.ws();
    const c = this.peek();
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (c === word.charCodeAt(0)) return this.literal(word);
    }
    this.fail('looking for beginning of value');
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.peek() === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== 0x22) this.fail('looking for beginning of object key string');
      this.string();
      this.ws();
      this.expect(0x3a, 'after object key');
      this.value();
      this.ws();
      if (this.peek() === 0x7d) {
        this.i++;
        return;
      }
      this.expect(0x2c, 'after object key:value pair');
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.peek() === 0x5d) {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      if (this.peek() === 0x5d) {
        this.i++;
        return;
      }
      this.expect(0x2c, 'after array element');
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('in string literal');
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail('in string literal');
      this.i++;
      if (c !== 0x5c) continue;
      const e = this.peek();
      if (e === 0x75) {
        this.i++;
        for (let k = 0; k < 4; k++) {
          if (!/[0-9a-fA-F]/.test(String.fromCharCode(this.peek() ?? 0))) this.fail('in \\u hexadecimal character escape');
          this.i++;
        }
      } else if (e !== undefined && '"\\/bfnrt'.includes(String.fromCharCode(e))) this.i++;
      else this.fail('in string escape code');
    }
  }

  private digits(): void {
    while ((this.peek() ?? 0) >= 0x30 && (this.peek() ?? 0) <= 0x39) this.i++;
  }
  private isDigit(): boolean {
    const c = this.peek();
    return c !== undefined && c >= 0x30 && c <= 0x39;
  }

  private number(): void {
    if (this.peek() === 0x2d) {
      this.i++;
      if (!this.isDigit()) this.fail('in numeric literal');
    }
    if (this.peek() === 0x30) this.i++;
    else this.digits();
    if (this.peek() === 0x2e) {
      this.i++;
      if (!this.isDigit()) this.fail('after decimal point in numeric literal');
      this.digits();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      this.i++;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.i++;
      if (!this.isDigit()) this.fail('in exponent of numeric literal');
      this.digits();
    }
  }

  private literal(word: string): void {
    this.i++;
    for (const ch of word.slice(1)) {
      if (this.peek() !== ch.charCodeAt(0)) this.fail(`in literal ${word} (expecting '${ch}')`);
      this.i++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Types: a small description of the Go payload types, enough for Go's type-error texts.

export type GoType =
  | { kind: 'string' | 'bool' | 'int' | 'raw' }
  | { kind: 'slice'; elem: GoType; name: string }
  | { kind: 'map'; elem: GoType; name: string }
  | { kind: 'struct'; name: string; fields: Record<string, GoType> };

export const goString: GoType = { kind: 'string' };
export const goBool: GoType = { kind: 'bool' };
export const goInt: GoType = { kind: 'int' };
/** json.RawMessage: any value, kept as it is. */
export const goRaw: GoType = { kind: 'raw' };
export const goStrings: GoType = { kind: 'slice', elem: goString, name: '[]string' };

function typeName(t: GoType): string {
  return t.kind === 'slice' || t.kind === 'map' || t.kind === 'struct' ? t.name : t.kind;
}

function jsonKind(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? 'array' : 'object';
}

interface Ctx {
  struct: string;
  path: string[];
  first?: string;
}

function typeError(ctx: Ctx, value: string, t: GoType): void {
  if (ctx.first) return;
  const where = ctx.path.length ? `Go struct field ${ctx.struct}.${ctx.path.join('.')}` : 'Go value';
  ctx.first = `json: cannot unmarshal ${value} into ${where} of type ${typeName(t)}`;
}

/** Convert a parsed JSON value to the Go type's shape, recording the first type error. */
function convert(v: unknown, t: GoType, ctx: Ctx): unknown {
  if (v === null || t.kind === 'raw') return t.kind === 'raw' ? v : undefined;
  switch (t.kind) {
    case 'string':
    case 'bool':
      if (typeof v === (t.kind === 'string' ? 'string' : 'boolean')) return v;
      return typeError(ctx, jsonKind(v), t);
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      return typeError(ctx, typeof v === 'number' ? `number ${v}` : jsonKind(v), t);
    case 'slice':
      if (!Array.isArray(v)) return typeError(ctx, jsonKind(v), t);
      return v.map((x) => convert(x, t.elem, ctx));
    case 'map':
      if (jsonKind(v) !== 'object') return typeError(ctx, jsonKind(v), t);
      return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, convert(x, t.elem, ctx)]));
    case 'struct':
      return convertStruct(v, t, ctx);
  }
}

function convertStruct(v: unknown, t: Extract<GoType, { kind: 'struct' }>, ctx: Ctx): unknown {
  if (jsonKind(v) !== 'object') return typeError(ctx, jsonKind(v), t);
  const out: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(v as object)) {
    // Go prefers an exact match, then takes a case-insensitive one.
    const field = key in t.fields ? key : Object.keys(t.fields).find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined) continue;
    const inner: Ctx = { struct: t.name, path: [...ctx.path, field] };
    const value = convert(x, t.fields[field]!, inner);
    if (inner.first && !ctx.first) ctx.first = inner.first;
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/**
 * Decode a request body like Go's json.Decoder into `type`: the first value only, Go's syntax and
 * type error texts (GoJsonError). Fields absent or null are left out of the result.
 */
export function decodeGoJson(body: Buffer, type: GoType): Record<string, unknown> {
  const end = new Scanner(body).first();
  const value: unknown = JSON.parse(body.subarray(0, end).toString('utf8'));
  const ctx: Ctx = { struct: type.kind === 'struct' ? type.name : '', path: [] };
  const out = convert(value, type, ctx);
  if (ctx.first) throw new GoJsonError(ctx.first);
  return (out as Record<string, unknown> | undefined) ?? {};
}
