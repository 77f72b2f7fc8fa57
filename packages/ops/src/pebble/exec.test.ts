// Exec through the public client against the emulator's real socket: the HTTP request, the task
// websockets (our RFC 6455 codec at both ends) and a real process. The emulator's change and
// task (kind, summary, data exit-code, err) are the oracle, as the client reads them.
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { PebbleEmulator } from '@juju-ts/ops-testing/pebble';
import {
  ChangeError,
  Container,
  ExecError,
  PebbleAPIError,
  PebbleClient,
  WebSocketHandshakeError,
  connectWebSocket,
  type Layer,
} from './index.js';

let dir: string;
let emu: PebbleEmulator;
let client: PebbleClient;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-exec-'));
  emu = await PebbleEmulator.start({ socketPath: path.join(dir, 'ctr', 'pebble.socket'), rootDir: path.join(dir, 'root') });
  client = new PebbleClient({ socketPath: emu.socketPath });
});
afterEach(async () => {
  await emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The exec changes the emulator recorded, newest last. */
async function execChanges() {
  const all = await client.getChanges({ select: 'all' });
  return all.filter((c) => c.kind === 'exec').sort((a, b) => Number(a.id) - Number(b.id));
}

/** Read a stream until `text` has appeared. */
function until(stream: NodeJS.ReadableStream, text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    const onData = (c: string | Buffer) => {
      seen += c.toString();
      if (seen.includes(text)) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
  });
}

describe('exec output and input', () => {
  test('waitOutput gives stdout and stderr apart; the change is an exec change with the exit code', async () => {
    const proc = await client.exec(['sh', '-c', 'echo out; echo err >&2']);
    expect(await proc.waitOutput()).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    const [change] = await execChanges();
    expect(change).toMatchObject({ kind: 'exec', summary: 'Execute command "sh"', status: 'Done', ready: true });
    expect(change!.tasks).toHaveLength(1);
    expect(change!.tasks[0]).toMatchObject({ kind: 'exec', summary: 'Execute command "sh"', status: 'Done', data: { 'exit-code': 0 } });
  });

  test('combineStderr: one stream in the order of the writes, stderr null', async () => {
    const proc = await client.exec(['sh', '-c', 'echo a; echo b >&2; echo c; echo d >&2'], { combineStderr: true });
    expect(proc.stderr).toBeNull();
    expect(await proc.waitOutput()).toEqual({ stdout: 'a\nb\nc\nd\n', stderr: null });
  });

  test('stdin as a string, as an async iterable, and streamed through process.stdin', async () => {
    const p1 = await client.exec(['cat'], { stdin: 'one\ntwo\n' });
    expect((await p1.waitOutput()).stdout).toBe('one\ntwo\n');

    async function* chunks() {
      yield 'a';
      yield Buffer.from('b');
      yield 'c\n';
    }
    const p2 = await client.exec(['cat'], { stdin: chunks() });
    expect((await p2.waitOutput()).stdout).toBe('abc\n');

    // Real streaming: the output of the first line arrives before the second is written.
    const p3 = await client.exec(['cat']);
    p3.stdin!.write('first\n');
    await until(p3.stdout!, 'first\n');
    p3.stdin!.end('second\n');
    let rest = '';
    p3.stdout!.on('data', (c: string) => (rest += c));
    await p3.wait();
    expect(rest).toBe('second\n');
  });

  test('stdout and stderr to given streams; waitOutput then refuses', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = '';
    let errText = '';
    out.on('data', (c: Buffer) => (outText += c.toString()));
    err.on('data', (c: Buffer) => (errText += c.toString()));
    const proc = await client.exec(['sh', '-c', 'echo to-out; echo to-err >&2'], { stdout: out, stderr: err });
    expect(proc.stdout).toBeNull();
    expect(proc.stderr).toBeNull();
    await expect(proc.waitOutput()).rejects.toThrow(TypeError);
    await proc.wait();
    expect([outText, errText]).toEqual(['to-out\n', 'to-err\n']);
  });

  test('bytes with encoding null, and output larger than one frame of any length class', async () => {
    const bin = await client.exec(['printf', '\\000\\377\\001'], { encoding: null });
    const { stdout } = await bin.waitOutput();
    expect(Buffer.isBuffer(stdout)).toBe(true);
    expect([...stdout]).toEqual([0, 255, 1]);

    const big = await client.exec(['sh', '-c', 'head -c 300000 /dev/zero | tr "\\000" a']);
    const out = (await big.waitOutput()).stdout;
    expect(out.length).toBe(300000);
    expect(out.replace(/a/g, '')).toBe('');
    const input = 'x'.repeat(200_000);
    const echo = await client.exec(['cat'], { stdin: input });
    expect((await echo.waitOutput()).stdout).toBe(input);
  });
});

describe('exec errors', () => {
  test('a non-zero exit is ExecError: with the output from waitOutput, without it from wait', async () => {
    const p1 = await client.exec(['sh', '-c', 'echo partial; echo bad >&2; exit 3']);
    const e1 = await p1.waitOutput().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ExecError);
    expect(e1).toMatchObject({ exitCode: 3, stdout: 'partial\n', stderr: 'bad\n', command: ['sh', '-c', 'echo partial; echo bad >&2; exit 3'] });
    expect((e1 as Error).message).toBe('non-zero exit code 3 executing "sh", stdout="partial\\n", stderr="bad\\n"');

    const p2 = await client.exec(['false']);
    const e2 = await p2.wait().catch((e: unknown) => e);
    expect(e2).toMatchObject({ exitCode: 1, stdout: null, stderr: null });
    expect((e2 as Error).message).toBe('non-zero exit code 1 executing "false"');
    const changes = await execChanges();
    expect(changes.map((c) => c.tasks[0]!.data['exit-code'])).toEqual([3, 1]);
  });

  test('ExecError cuts long output in its message', async () => {
    const proc = await client.exec(['sh', '-c', 'head -c 1500 /dev/zero | tr "\\000" z; exit 2']);
    const e = (await proc.waitOutput().catch((x: unknown) => x)) as ExecError;
    expect(e.stdout).toHaveLength(1500);
    expect(e.message).toBe(`non-zero exit code 2 executing "sh", stdout="${'z'.repeat(1024)}" [truncated], stderr=""`);
  });

  test('a timeout kills the process: ChangeError "timed out after ...", exit code -1', async () => {
    const proc = await client.exec(['sleep', '30'], { timeoutMs: 200 });
    const e = await proc.wait().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChangeError);
    expect((e as ChangeError).err).toBe('cannot perform the following tasks:\n- Execute command "sleep" (timed out after 200ms: context deadline exceeded)');
    const [change] = await execChanges();
    expect(change).toMatchObject({ status: 'Error' });
    expect(change!.tasks[0]!.data).toEqual({ 'exit-code': -1 });
  });

  test("request errors read as Pebble's", async () => {
    const fail = (command: string[], opts = {}) => client.exec(command, opts).then(() => null, (e: unknown) => e as PebbleAPIError);
    expect(await fail(['no-such-command-x'])).toMatchObject({ code: 400, message: 'cannot find executable "no-such-command-x"' });
    expect(await fail(['/no/such/file'])).toMatchObject({ code: 400, message: 'cannot find executable "/no/such/file"' });
    expect(await fail(['true'], { workingDir: '/no/such/dir' })).toMatchObject({
      code: 500,
      message: 'cannot call exec: working directory "/no/such/dir" does not exist',
    });
    expect(await fail(['true'], { workingDir: '/etc/passwd' })).toMatchObject({
      code: 500,
      message: 'cannot call exec: working directory "/etc/passwd" not a directory',
    });
    expect(await fail(['true'], { serviceContext: 'ghost' })).toMatchObject({ code: 400, message: 'context service "ghost" not found' });
    expect(await fail(['true'], { group: 'root' })).toMatchObject({ code: 400, message: 'must specify user, not just group' });
    expect(await fail(['true'], { user: 'no-such-user-x' })).toMatchObject({ code: 400, message: 'user: unknown user no-such-user-x' });
    expect(await fail(['true'], { timeoutMs: 1, environment: { A: 'b' } })).toBeNull(); // a valid request
    // Go's decoder texts for a body of the wrong shape (the client cannot send one: raw HTTP).
    const res = await rawPost(emu.socketPath, '/v1/exec', '{"command":"ls"}');
    expect(res).toEqual({
      status: 400,
      body: { type: 'error', 'status-code': 400, status: 'Bad Request', result: { message: 'cannot decode request body: json: cannot unmarshal string into Go struct field execPayload.command of type []string' } },
    });
    expect((await rawPost(emu.socketPath, '/v1/exec', '{"command":[]}')).body).toMatchObject({ result: { message: 'must specify command' } });
    expect((await rawPost(emu.socketPath, '/v1/exec', '{"command":["true"],"timeout":"5"}')).body).toMatchObject({
      result: { message: 'invalid timeout: time: missing unit in duration "5"' },
    });
  });
});

async function rawPost(socketPath: string, urlPath: string, body: string): Promise<{ status: number; body: unknown }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('exec context', () => {
  test('environment, working dir, and what Pebble adds (PATH, LANG, HOME, USER)', async () => {
    const work = fs.mkdtempSync(path.join(dir, 'work-'));
    const proc = await client.exec(['sh', '-c', 'echo "$GREETING"; pwd; echo "$LANG"; test -n "$PATH" && test -n "$HOME" && echo ok'], {
      environment: { GREETING: 'hi there', LANG: 'C' },
      workingDir: work,
    });
    expect((await proc.waitOutput()).stdout).toBe(`hi there\n${fs.realpathSync(work)}\nC\nok\n`);
  });

  test("a service's context: its environment and working dir, the request's values on top", async () => {
    const work = fs.mkdtempSync(path.join(dir, 'svc-'));
    const layer: Layer = {
      services: { web: { override: 'replace', command: 'sleep 1000', environment: { A: 'from-service', B: 'from-service' }, 'working-dir': work } },
    };
    await client.addLayer('base', layer);
    const proc = await client.exec(['sh', '-c', 'echo "$A $B"; pwd'], { serviceContext: 'web', environment: { B: 'from-exec' } });
    expect((await proc.waitOutput()).stdout).toBe(`from-service from-exec\n${fs.realpathSync(work)}\n`);
  });

  test('user and group: as root the process runs as that user; otherwise fork/exec fails with EPERM', async () => {
    const [, , uid, , , home] = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    if (!fs.existsSync(home!)) {
      // The default working dir is the user's home, which must exist.
      await expect(client.exec(['id', '-u'], { user: 'nobody' })).rejects.toMatchObject({
        code: 500,
        message: `cannot call exec: home directory ${JSON.stringify(home)} does not exist`,
      });
    }
    const proc = await client.exec(['sh', '-c', 'id -u; echo "$USER $HOME"'], { user: 'nobody', workingDir: '/' });
    if (process.getuid?.() === 0) {
      expect((await proc.waitOutput()).stdout).toBe(`${uid}\nnobody ${home}\n`);
    } else {
      const e = await proc.wait().catch((x: unknown) => x);
      expect((e as ChangeError).err).toMatch(/^cannot perform the following tasks:\n- Execute command "sh" \(fork\/exec \/.*\/sh: operation not permitted\)$/);
    }
  });

  test('sendSignal reaches the process', async () => {
    const proc = await client.exec(['sh', '-c', 'trap "echo got-hup; exit 7" HUP; echo ready; while :; do sleep 0.05; done']);
    let out = '';
    proc.stdout!.on('data', (c: string) => (out += c));
    await until(proc.stdout!, 'ready');
    proc.sendSignal('SIGHUP');
    const e = await proc.wait().catch((x: unknown) => x);
    expect(e).toMatchObject({ exitCode: 7 });
    expect(out).toBe('ready\ngot-hup\n');
  });

  test('Container.exec wraps the client', async () => {
    const c = new Container('ctr', { socketPath: emu.socketPath });
    const { stdout } = await (await c.exec(['echo', 'via container'])).waitOutput();
    expect(stdout).toBe('via container\n');
  });
});

describe('task websockets', () => {
  const open = (p: string) => connectWebSocket(emu.socketPath, p, 5000).then(() => null, (e: unknown) => e as WebSocketHandshakeError);
  const message = (e: WebSocketHandshakeError | null) => e && { status: e.statusCode, body: JSON.parse(e.body.toString()) as unknown };

  test("refusals read as Pebble's: unknown task, a task of another kind, an unknown or taken websocket", async () => {
    expect(message(await open('/v1/tasks/42/websocket/control'))).toEqual({
      status: 404,
      body: { type: 'error', 'status-code': 404, status: 'Not Found', result: { message: 'cannot find task "42"' } },
    });
    await client.addLayer('base', { services: { web: { override: 'replace', command: 'sleep 1000' } } });
    const startChange = await client.getChange(await client.start(['web']));
    const startTask = startChange.tasks[0]!.id;
    expect(message(await open(`/v1/tasks/${startTask}/websocket/stdio`))).toMatchObject({
      status: 400,
      body: { result: { message: '"start" tasks do not have websockets' } },
    });

    const proc = await client.exec(['cat'], { combineStderr: true });
    const [change] = await execChanges();
    const taskId = change!.tasks[0]!.id;
    expect(message(await open(`/v1/tasks/${taskId}/websocket/stderr`))).toMatchObject({
      status: 404,
      body: { result: { message: `cannot find stderr websocket for task "${taskId}"` } },
    });
    expect(message(await open(`/v1/tasks/${taskId}/websocket/stdio`))).toMatchObject({
      status: 500,
      body: { result: { message: 'stdio websocket already connected' } },
    });
    proc.stdin!.end();
    await proc.wait();
  });
});
