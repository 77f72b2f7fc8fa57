// POST /v1/exec (P:internals/daemon/api_exec.go) and the task websockets
// GET /v1/tasks/{task-id}/websocket/{control|stdio|stderr} (api_tasks.go, cmdstate/manager.go),
// with Pebble's checks and texts. The websocket handshake itself arrives as an HTTP upgrade.
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { acceptWebSocket } from './websocket-server.js';
import {
  ApiError,
  asyncReply,
  bad,
  decodeJson,
  errorReply,
  readBody,
  writeJson,
  type ApiBackend,
  type Reply,
  type Route,
} from './api.js';
import { goBool, goInt, goString, goStrings, type GoType } from './gojson.js';
import { parseGoDuration } from './gotext.js';
import { Execution, findExecutable, killExecs, settleExecution, type ExecContext } from './exec.js';
import { normalizeUidGid } from './users.js';

/** The executions whose tasks have not finished, by task id, and their live processes. */
export class ExecRegistry {
  readonly executions = new Map<string, Execution>();
  readonly live = new Set<ChildProcess>();

  constructor(readonly ctx: ExecContext) {}

  /** Kill every exec process still running (emulator teardown). */
  killAll(): void {
    killExecs(this.live);
  }
}

const GO_EXEC: GoType = {
  kind: 'struct',
  // Go names the struct in field errors: "Go struct field execPayload.timeout of type string".
  name: 'execPayload',
  fields: {
    command: goStrings,
    'service-context': goString,
    environment: { kind: 'map', elem: goString, name: 'map[string]string' },
    'working-dir': goString,
    timeout: goString,
    'user-id': goInt,
    user: goString,
    'group-id': goInt,
    group: goString,
    terminal: goBool,
    interactive: goBool,
    'split-stderr': goBool,
    width: goInt,
    height: goInt,
  },
};
const ExecBody = z.object({
  command: z.array(z.string()).default([]),
  'service-context': z.string().default(''),
  environment: z.record(z.string(), z.string()).default({}),
  'working-dir': z.string().default(''),
  timeout: z.string().default(''),
  'user-id': z.number().nullable().default(null),
  user: z.string().default(''),
  'group-id': z.number().nullable().default(null),
  group: z.string().default(''),
  terminal: z.boolean().default(false),
  interactive: z.boolean().default(false),
  'split-stderr': z.boolean().default(false),
});
type ExecBody = z.infer<typeof ExecBody>;

/** plan.MergeServiceContext: the service's environment, user, group and working dir, overridden. */
function mergeServiceContext(b: ApiBackend, body: ExecBody) {
  const own = {
    environment: body.environment,
    userId: body['user-id'],
    user: body.user,
    groupId: body['group-id'],
    group: body.group,
    workingDir: body['working-dir'],
  };
  const name = body['service-context'];
  if (name === '') return own;
  const svc = b.currentPlan().services.get(name);
  if (!svc) throw bad(`context service ${JSON.stringify(name)} not found`);
  return {
    environment: { ...(svc.environment ?? {}), ...own.environment },
    userId: own.userId ?? svc.userId,
    user: own.user || svc.user,
    groupId: own.groupId ?? svc.groupId,
    group: own.group || svc.group,
    workingDir: own.workingDir || svc.workingDir,
  };
}

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function postExec(b: ApiBackend, req: IncomingMessage): Promise<Reply> {
  const body = decodeJson(await readBody(req), ExecBody, 'cannot decode request body', GO_EXEC);
  const command = body.command;
  if (command.length < 1) throw bad('must specify command');
  let timeoutNs = 0;
  try {
    timeoutNs = body.timeout === '' ? 0 : parseGoDuration(body.timeout);
  } catch (e) {
    throw bad(`invalid timeout: ${(e as Error).message}`);
  }
  const ctx = b.execs.ctx;
  if (!findExecutable(command[0]!, ctx)) throw bad(`cannot find executable ${JSON.stringify(command[0]!)}`);
  const merged = mergeServiceContext(b, body);
  let ids;
  try {
    ids = normalizeUidGid(ctx.userDb, merged.userId, merged.groupId, merged.user, merged.group);
  } catch (e) {
    throw bad((e as Error).message);
  }
  // cmdstate.Exec's failures are answered as internal errors.
  if (body.interactive && !body.terminal) throw new ApiError(500, 'cannot call exec: cannot use interactive mode without a terminal');
  if (body.terminal) throw new ApiError(500, 'cannot call exec: a terminal (pseudo-tty) is not implemented by the Pebble emulator');
  let settled;
  try {
    settled = settleExecution({ command, environment: merged.environment, workingDir: merged.workingDir, timeoutNs, ids, splitStderr: body['split-stderr'] }, ctx);
  } catch (e) {
    throw new ApiError(500, `cannot call exec: ${(e as Error).message}`);
  }
  const execution = new Execution(
    { command, environment: settled.environment, workingDir: settled.workingDir, timeoutNs, ids, splitStderr: body['split-stderr'] },
    ctx,
    b.execs.live,
  );
  const summary = `Execute command ${JSON.stringify(command[0]!)}`;
  const task = b.engine.newTask('exec', summary, async (t, signal) => {
    try {
      await execution.run(t, signal);
    } finally {
      b.execs.executions.delete(t.id);
    }
  });
  b.execs.executions.set(task.id, execution);
  const change = b.engine.newChange('exec', summary);
  change.addTask(task);
  b.engine.ensure();
  // A Go map: encoding/json writes its keys sorted.
  return asyncReply(change.id, { environment: sortedObject(settled.environment), 'task-id': task.id, 'working-dir': settled.workingDir });
}

/** The execution a websocket request is for, or Pebble's error reply (api_tasks.go, Connect). */
function lookup(b: ApiBackend, taskId: string, wsId: string): Execution | Reply {
  const found = b.engine.findTask(taskId);
  if (!found) return errorReply(404, `cannot find task ${JSON.stringify(taskId)}`);
  if (found.kind !== 'exec') return errorReply(400, `${JSON.stringify(found.kind)} tasks do not have websockets`);
  const execution = b.execs.executions.get(taskId);
  if (!execution) {
    // The task has finished: Connect returns the change's error (nil: an empty 200).
    const err = found.change?.err;
    return err ? errorReply(500, err) : { status: 200, body: {} };
  }
  if (!execution.sockets.has(wsId as 'control')) return errorReply(404, `cannot find ${wsId} websocket for task ${JSON.stringify(taskId)}`);
  if (execution.sockets.get(wsId as 'control')) return errorReply(500, `${wsId} websocket already connected`);
  return execution;
}

const WS_ROUTE = /^\/v1\/tasks\/([^/]+)\/websocket\/([^/]+)$/;

export function execRoutes(b: ApiBackend): Route[] {
  return [
    { pattern: /^\/v1\/exec$/, methods: { POST: async (req) => postExec(b, req) } },
    {
      pattern: WS_ROUTE,
      methods: {
        // A plain GET (no Upgrade): the checks, then gorilla's Upgrader refuses it with 400.
        GET: async (_req, _url, [taskId, wsId], res) => {
          const found = lookup(b, taskId!, wsId!);
          if (!(found instanceof Execution)) return found;
          res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
          res.end('Bad Request\n');
          return null;
        },
      },
    },
  ];
}

/**
 * The server's `upgrade` listener: a websocket opening for an exec task is accepted; anything
 * else is answered by the ordinary request listener, as Pebble's router would.
 */
export function createUpgradeHandler(
  b: ApiBackend,
  listener: (req: IncomingMessage, res: http.ServerResponse) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = WS_ROUTE.exec(url.pathname);
    const found = m && req.method === 'GET' ? lookup(b, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)) : null;
    if (found instanceof Execution) {
      const result = found.connect(decodeURIComponent(m![2]!), () => {
        const conn = acceptWebSocket(req, socket, head);
        return typeof conn === 'string' ? null : conn;
      });
      if (result === 'ok') return;
    }
    // Not (or no longer) a valid opening: answer it as an ordinary request on this socket.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    if (found && !(found instanceof Execution)) writeJson(res, found);
    else listener(req, res);
  };
}
