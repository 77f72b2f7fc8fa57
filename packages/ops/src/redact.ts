/**
 * Redaction of secret values in text that leaves a process: statuses, logs, action messages, and
 * the sync workload's logs, health JSON, status file and metrics.
 *
 * One algorithm for the charm and its workload (charm/sync/redact.ts builds one from the workload's
 * configuration), so both hide the same forms of a value. This module has no imports: the
 * workload's bundle gains only this file.
 */

export const REDACTED = '[redacted]';

/** Values shorter than this are not redacted: replacing "true" or "80" everywhere would mangle text. */
export const MIN_SECRET_LENGTH = 4;

/**
 * `scheme://userinfo@`: the userinfo stops at characters that cannot be in it unencoded (so a
 * match never spans two words, two JSON strings, or a path), and must be followed by `@`.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]+@/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The forms in which a value can show up in rendered output: as is, inside a JSON string (the
 * logs, /healthz and the status file are JSON), and URL-encoded (in a URL or a query string).
 */
function variants(value: string): string[] {
  const out = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  try {
    out.add(decodeURIComponent(value)); // a URL's password as the URL holds it, percent-encoded
  } catch {
    /* not percent-encoded: nothing to add */
  }
  return [...out].filter((v) => v.length >= MIN_SECRET_LENGTH);
}

/** `https://user:pass@host/...` → `https://[redacted]@host/...`, anywhere in the text. */
export function redactUrlUserinfo(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, `$1${REDACTED}@`) : text;
}

/** The password of a URL's userinfo, if the text is a URL that has one. */
export function urlPassword(url: string): string | undefined {
  try {
    const p = new URL(url.trim()).password;
    return p === '' ? undefined : p;
  } catch {
    return undefined;
  }
}

export class Redactor {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  constructor(values: Iterable<string | undefined> = []) {
    this.add(...values);
  }

  /**
   * Register secret values (undefined and short ones are ignored). Surrounding whitespace is not
   * part of a value: the trimmed value is found inside the untrimmed one anyway, and redacting
   * the spaces around it would glue words together. Returns this, for chaining.
   */
  add(...values: (string | undefined)[]): this {
    for (const raw of values) {
      const v = raw?.trim();
      if (v === undefined || v.length < MIN_SECRET_LENGTH) continue;
      for (const form of variants(v)) {
        if (this.#values.has(form)) continue;
        this.#values.add(form);
        this.#pattern = undefined;
      }
    }
    return this;
  }

  /** Register the password in a URL's userinfo (the userinfo itself is always redacted in URLs). */
  addUrl(...urls: (string | undefined)[]): this {
    for (const u of urls) if (u !== undefined) this.add(urlPassword(u));
    return this;
  }

  /** How many forms of secret values are known (for tests and diagnostics; never the values). */
  get size(): number {
    return this.#values.size;
  }

  /** The text with every known secret value and every URL userinfo replaced by `[redacted]`. */
  redact(text: string): string {
    let out = text;
    if (this.#values.size > 0) {
      // Longest first: at a given position the regex takes the first alternative that matches, and
      // a longer form (the JSON-escaped one) must win over a value that is its prefix.
      this.#pattern ??= new RegExp([...this.#values].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
      out = out.replace(this.#pattern, REDACTED);
    }
    return redactUrlUserinfo(out);
  }
}
