/**
 * The shell tool runner's own promises, with real executables on PATH: exact output, arguments and
 * input that the shell must not interpret, calls kept apart, a hook process that can still exit,
 * and a shell that dies.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShellToolRunner } from './shell-runner.js';

let dir: string;
let runner: ShellToolRunner;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shell-runner-'));
  tool('raw-args', `#!/bin/sh\nprintf '%s|' "$@"\n`);
  tool('echo-stdin', '#!/bin/sh\ncat\n');
  tool('print', '#!/bin/sh\nprintf "$1"\n');
  tool('big', `#!/bin/sh\nhead -c "$1" /dev/zero | tr '\\0' x\n`);
  tool('fail', '#!/bin/sh\necho "to stdout"\necho "ERROR no such thing" >&2\nexit 2\n');
  tool('slow', '#!/bin/sh\nsleep "$1"\necho "$2"\n');
  runner = new ShellToolRunner({ env: { PATH: `${dir}:/usr/bin:/bin` } });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function tool(name: string, script: string): void {
  fs.writeFileSync(path.join(dir, name), script, { mode: 0o755 });
}

test('output comes back byte for byte: trailing newlines, none, UTF-8, and a megabyte', async () => {
  expect(await runner.run('print', ['a\\n\\n\\n'])).toEqual({ exitCode: 0, stdout: 'a\n\n\n', stderr: '' });
  expect(await runner.run('print', ['no newline'])).toEqual({ exitCode: 0, stdout: 'no newline', stderr: '' });
  expect(await runner.run('print', [''])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  expect((await runner.run('print', ['é ü 漢 🙂'])).stdout).toBe('é ü 漢 🙂');
  const big = await runner.run('big', ['1048576']);
  expect(big.stdout.length).toBe(1048576);
  expect(big.stdout).toMatch(/^x+$/);
});

test('arguments reach the tool literally: quotes, $(), backquotes, globs, newlines, empty ones', async () => {
  const args = [`it's`, '"double"', '$(touch pwned)', '`touch pwned`', '*', '$HOME', 'two\nlines', '', ' spaced ', '\\'];
  const r = await runner.run('raw-args', args);
  expect(r).toEqual({ exitCode: 0, stdout: args.map((a) => `${a}|`).join(''), stderr: '' });
  expect(fs.existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
});

test('input reaches the tool literally, ending with a newline; no input is an empty stdin', async () => {
  const input = `{"a": "it's $(x) \`y\` \\\\"}\nEOF\n'EOF'\nlast line without newline`;
  expect((await runner.run('echo-stdin', [], { input })).stdout).toBe(`${input}\n`);
  expect((await runner.run('echo-stdin', [], { input: 'ends\n' })).stdout).toBe('ends\n');
  expect((await runner.run('echo-stdin', [])).stdout).toBe('');
});

test('exit status and stderr are the tool\'s; a missing tool is named', async () => {
  expect(await runner.run('fail', [])).toEqual({ exitCode: 2, stdout: 'to stdout\n', stderr: 'ERROR no such thing\n' });
  const missing = await runner.run('no-such-tool', []);
  expect(missing.exitCode).toBe(127);
  expect(missing.stderr).toMatch(/^hook tool "no-such-tool" not found on PATH/);
  await expect(runner.run('rm -rf', [])).rejects.toThrow(/"rm -rf" is not a hook tool's name/);
});

test('concurrent calls each get their own answer, in the order asked', async () => {
  const answers = await Promise.all([runner.run('slow', ['0.2', 'first']), runner.run('print', ['second']), runner.run('fail', []), runner.run('slow', ['0', 'fourth'])]);
  expect(answers.map((a) => [a.exitCode, a.stdout])).toEqual([[0, 'first\n'], [0, 'second'], [2, 'to stdout\n'], [0, 'fourth\n']]);
});

test('a shell that dies fails the call it was running, and the next call starts a new one', async () => {
  tool('kill-shell', '#!/bin/sh\nkill -KILL $PPID\nsleep 5\n');
  const r = await runner.run('kill-shell', []);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toBe('hook tool "kill-shell" did not finish: the shell that runs hook tools ended (SIGKILL)\n');
  expect(await runner.run('print', ['again'])).toEqual({ exitCode: 0, stdout: 'again', stderr: '' });
});

test('an idle shell does not keep the process alive', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = `import { ShellToolRunner } from '${path.join(here, 'shell-runner.ts')}';
    const r = new ShellToolRunner({ env: { PATH: '${dir}:/usr/bin:/bin' } });
    const a = await r.run('print', ['done']);
    process.stdout.write(a.stdout);`;
  // A shell holding the event loop would keep it running until the timeout, which throws.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
  expect(out).toBe('done');
});
