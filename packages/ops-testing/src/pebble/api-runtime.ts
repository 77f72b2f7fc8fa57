// The API of running things: POST /v1/signals (P:internals/daemon/api_signals.go), GET /v1/logs
// (api_logs.go, following too) and /v1/notices (api_notices.go, custom notices). Every caller
// is admin and its uid is the emulator's own (real Pebble reads the socket peer's credentials).
import { errorReply, bad, decodeJson, multiComma, readBody, syncReply, type ApiBackend, type Route } from './api.js';
import { goRaw, goString, goStrings, type GoType } from './gojson.js';
import { parseGoDuration } from './gotext.js';
import { followLogs, renderLogs } from './logs.js';
import { NOTICE_TYPES, type NoticeFilter } from './notices.js';
import { z } from 'zod';

const GO_SIGNALS: GoType = { kind: 'struct', name: 'signalsPayload', fields: { signal: goString, services: goStrings } };
const GO_NOTICE: GoType = {
  kind: 'struct',
  name: '',
  fields: { action: goString, type: goString, key: goString, 'repeat-after': goString, data: goRaw },
};
const SignalsBody = z.object({ signal: z.string().default(''), services: z.array(z.string()).default([]) });
const NoticeBody = z.object({
  action: z.string().default(''),
  type: z.string().default(''),
  key: z.string().default(''),
  'repeat-after': z.string().default(''),
  data: z.unknown().optional(),
});
// Custom keys look like "example.com/path", somewhat more strictly (api_notices.go).
const CUSTOM_KEY = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+(\/[a-z0-9]+(-[a-z0-9]+)*)+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const requesterUid = (): number => process.getuid?.() ?? 0;

function parseDuration(text: string, what: string): number {
  if (text === '') return 0;
  try {
    return parseGoDuration(text);
  } catch (e) {
    throw bad(`${what}: ${(e as Error).message}`);
  }
}

/** The notice filter of a GET /v1/notices query; null when every requested type is unknown. */
function noticeFilter(url: URL): NoticeFilter | null {
  const q = url.searchParams;
  let userId: number | null = requesterUid();
  const userIds = multiComma(q.getAll('user-id'));
  if (q.getAll('user-id').length) {
    if (userIds.length !== 1) throw bad('invalid "user-id" filter: must only include one "user-id"');
    const n = Number(userIds[0]);
    if (!/^-?\d+$/.test(userIds[0]!)) throw bad(`invalid "user-id" filter: strconv.ParseInt: parsing ${JSON.stringify(userIds[0])}: invalid syntax`);
    if (n < 0 || n > 0xffffffff) throw bad(`invalid "user-id" filter: user ID is not a valid uint32: ${n}`);
    userId = n;
  }
  if (q.getAll('users').length) {
    if (q.getAll('user-id').length) throw bad('cannot use both "users" and "user-id" parameters');
    if (q.get('users') !== 'all') throw bad('invalid "users" filter: must be "all"');
    userId = null;
  }
  const requested = multiComma(q.getAll('types'));
  const types = [...new Set(requested.filter((t) => (NOTICE_TYPES as readonly string[]).includes(t)))];
  if (requested.length && !types.length) return null;
  const afterText = q.get('after') ?? '';
  if (afterText !== '' && (!RFC3339.test(afterText) || Number.isNaN(Date.parse(afterText)))) {
    throw bad(`invalid "after" timestamp: parsing time ${JSON.stringify(afterText)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(afterText)} as "2006"`);
  }
  return { userId, types, keys: multiComma(q.getAll('keys')), after: afterText ? Date.parse(afterText) : 0 };
}

/** json.Unmarshal of the notice data into map[string]string. */
function noticeData(data: unknown): Record<string, string> | null {
  if (data === undefined || data === null) return null;
  if (JSON.stringify(data).length > 4096) throw bad('total size of data must be 4096 bytes or less');
  const kind = (v: unknown) => (Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v);
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw bad(`cannot decode notice data: json: cannot unmarshal ${kind(data)} into Go value of type map[string]string`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (v === null) continue;
    if (typeof v !== 'string') throw bad(`cannot decode notice data: json: cannot unmarshal ${kind(v)} into Go value of type string`);
    out[k] = v;
  }
  return out;
}

export function runtimeRoutes(b: ApiBackend): Route[] {
  return [
    {
      pattern: /^\/v1\/signals$/,
      methods: {
        POST: async (req) => {
          const body = decodeJson(await readBody(req), SignalsBody, 'cannot decode request body', GO_SIGNALS);
          if (body.services.length === 0) throw bad('must specify one or more services');
          const err = b.serviceManager.sendSignal(body.services, body.signal);
          return err ? errorReply(500, err) : syncReply(true);
        },
      },
    },
    {
      pattern: /^\/v1\/logs$/,
      methods: {
        GET: async (req, url, _p, res) => {
          const follow = url.searchParams.get('follow') ?? '';
          if (!['', 'true', 'false'].includes(follow)) throw bad('follow parameter must be "true" or "false"');
          const nText = url.searchParams.get('n') ?? '';
          if (nText !== '' && (!/^[+-]?\d+$/.test(nText) || Number(nText) < -1)) throw bad('n must be -1, 0, or a positive integer');
          // Following, n defaults to 0: only lines written from now on.
          const n = nText !== '' ? Number(nText) : follow === 'true' ? 0 : 30;
          let services = multiComma(url.searchParams.getAll('services'));
          if (services.length === 0) services = b.serviceManager.infos().map((i) => i.name);
          res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
          if (follow !== 'true') {
            res.end(renderLogs(b.logBuffers(), services, n));
            return null;
          }
          res.flushHeaders();
          const buffers = b.logBuffers();
          res.write(renderLogs(buffers, services, n, true));
          const stop = followLogs(buffers, services, (line) => res.write(line));
          // Until the client goes away (or the emulator closes the connection).
          await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
          stop();
          return null;
        },
      },
    },
    {
      pattern: /^\/v1\/notices$/,
      methods: {
        GET: async (req, url) => {
          const filter = noticeFilter(url);
          if (!filter) return syncReply([]);
          const timeoutNs = parseDuration(url.searchParams.get('timeout') ?? '', 'invalid timeout');
          if (timeoutNs === 0) return syncReply(b.notices.list(filter));
          const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
          return syncReply(await b.notices.wait(filter, timeoutNs / 1e6, closed));
        },
        POST: async (req) => {
          const body = decodeJson(await readBody(req), NoticeBody, 'cannot decode request body', GO_NOTICE);
          if (body.action !== 'add') throw bad(`invalid action ${JSON.stringify(body.action)}`);
          if (body.type !== 'custom') throw bad(`invalid type ${JSON.stringify(body.type)} (can only add "custom" notices)`);
          if (!CUSTOM_KEY.test(body.key)) throw bad(`invalid key ${JSON.stringify(body.key)} (must be in "example.com/path" format)`);
          if (Buffer.byteLength(body.key) > 256) throw bad('key must be 256 bytes or less');
          const repeatAfterNs = parseDuration(body['repeat-after'], 'invalid repeat-after');
          const data = noticeData(body.data);
          return syncReply({ id: b.notices.add(requesterUid(), 'custom', body.key, { data, repeatAfterNs }) });
        },
      },
    },
    {
      pattern: /^\/v1\/notices\/([^/]+)$/,
      methods: {
        GET: async (_req, _url, [id]) => {
          const notice = b.notices.get(id!);
          if (!notice) return errorReply(404, `cannot find notice with ID ${JSON.stringify(id!)}`);
          return syncReply(notice);
        },
      },
    },
  ];
}
