// GET /v1/logs (P:internals/daemon/api_logs.go, internals/servicelog/parser.go): the last n lines
// of each requested service, merged by time (ties to the service whose name sorts first), the
// last n of those overall, as JSON Lines {"time","service","message"}; with follow, then every
// new line of those services as it is written.
import type { OutputBuffer } from './processes.js';
import { goTimeJson } from './notices.js';

const LINE_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) \[([^\]]+)\] ([^]*)$/;

interface Entry {
  time: number;
  service: string;
  message: string;
}

/** servicelog.Parser over one service's text: one entry per line with a message. */
function parseEntries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const line of text.split(/(?<=\n)/)) {
    const m = LINE_RE.exec(line);
    if (!m || m[3] === '') continue; // a prefix without its message yet
    out.push({ time: Date.parse(m[1]!), service: m[2]!, message: m[3]!.replace(/\n$/, '') });
  }
  return out;
}

/** Go's json.Encoder (SetEscapeHTML(false)) for one log: U+2028/2029 escaped, a newline after. */
function jsonLine(e: Entry): string {
  const text = JSON.stringify({ time: goTimeJson(e.time), service: e.service, message: e.message });
  return text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029') + '\n';
}

/**
 * The body of GET /v1/logs for `services` (in any order) with n = -1, 0 or positive; `complete`
 * leaves out unfinished last lines (a follower gets them when they are finished).
 */
export function renderLogs(buffers: Map<string, OutputBuffer>, services: string[], n: number, complete = false): string {
  const names = [...new Set(services)].filter((s) => buffers.has(s)).sort();
  const entries = names
    .flatMap((name, index) => parseEntries(buffers.get(name)!.head(n, complete)).map((e, seq) => ({ e, index, seq })))
    .sort((a, b) => a.e.time - b.e.time || a.index - b.index || a.seq - b.seq)
    .map((x) => x.e);
  const kept = n > 0 ? entries.slice(-n) : n === 0 ? [] : entries;
  return kept.map(jsonLine).join('');
}

/**
 * Follow the services' logs: `write` gets each new line's JSON Line as the line is finished.
 * Only services that have output buffers now are followed (Pebble takes its iterators at the
 * request). Returns the function that stops following.
 */
export function followLogs(buffers: Map<string, OutputBuffer>, services: string[], write: (jsonLine: string) => void): () => void {
  const names = [...new Set(services)].filter((s) => buffers.has(s));
  const stops = names.map((name) =>
    buffers.get(name)!.subscribe((line) => {
      for (const e of parseEntries(line)) write(jsonLine(e));
    }),
  );
  return () => stops.forEach((stop) => stop());
}
