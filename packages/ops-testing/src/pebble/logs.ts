// GET /v1/logs without follow (P:internals/daemon/api_logs.go, internals/servicelog/parser.go):
// the last n lines of each requested service, merged by time (ties to the service whose name
// sorts first), the last n of those overall, as JSON Lines {"time","service","message"}.
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

/** The body of GET /v1/logs for `services` (in any order) with n = -1, 0 or positive. */
export function renderLogs(buffers: Map<string, OutputBuffer>, services: string[], n: number): string {
  const names = [...new Set(services)].filter((s) => buffers.has(s)).sort();
  const entries = names
    .flatMap((name, index) => parseEntries(buffers.get(name)!.head(n)).map((e, seq) => ({ e, index, seq })))
    .sort((a, b) => a.e.time - b.e.time || a.index - b.index || a.seq - b.seq)
    .map((x) => x.e);
  const kept = n > 0 ? entries.slice(-n) : n === 0 ? [] : entries;
  return kept.map(jsonLine).join('');
}
