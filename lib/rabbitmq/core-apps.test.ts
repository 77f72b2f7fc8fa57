/** The private broker's plugins dir: `rabbit` and what it needs, transitively, and nothing else. */
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { linkCoreApps } from './core-apps.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** An installed broker's layout: sbin/rabbitmq-server beside plugins/<app>-<version>/ebin/<app>.app. */
function fakeInstall(apps: Record<string, string[]>): { server: string; dir: string } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'core-apps-'));
  made.push(home);
  mkdirSync(path.join(home, 'sbin'));
  writeFileSync(path.join(home, 'sbin', 'rabbitmq-server'), '#!/bin/sh\n');
  for (const [name, deps] of Object.entries(apps)) {
    mkdirSync(path.join(home, 'plugins', `${name}-1.2.3`, 'ebin'), { recursive: true });
    writeFileSync(path.join(home, 'plugins', `${name}-1.2.3`, 'ebin', `${name}.app`), `{application, ${name},\n [{vsn, "1.2.3"},\n  {applications, [kernel,stdlib,${deps.join(',')}]},\n  {mod, {${name}, []}}]}.\n`);
  }
  // The script is found through a symbolic link, as Debian's /usr/lib/rabbitmq/bin/rabbitmq-server.
  mkdirSync(path.join(home, 'bin'));
  symlinkSync(path.join(home, 'sbin', 'rabbitmq-server'), path.join(home, 'bin', 'rabbitmq-server'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'core-apps-broker-'));
  made.push(dir);
  return { server: path.join(home, 'bin', 'rabbitmq-server'), dir };
}

test('links rabbit and its dependencies, transitively, and leaves the plugins out', () => {
  const { server, dir } = fakeInstall({ rabbit: ['rabbit_common', 'ra'], rabbit_common: ['jsx'], ra: ['aten', 'rabbit_common'], jsx: [], aten: [], rabbitmq_management: ['rabbit', 'cowboy'], cowboy: [] });
  const out = linkCoreApps(server, dir);
  expect(out).toBe(path.join(dir, 'plugins'));
  const linked = readdirSync(out as string).sort();
  expect(linked).toEqual(['aten-1.2.3', 'jsx-1.2.3', 'ra-1.2.3', 'rabbit-1.2.3', 'rabbit_common-1.2.3']);
  expect(realpathSync(path.join(out as string, 'rabbit-1.2.3'))).toBe(realpathSync(path.join(path.dirname(realpathSync(server)), '..', 'plugins', 'rabbit-1.2.3')));
});

test('an unexpected layout (no rabbit application) gives undefined: the broker keeps its own plugins dir', () => {
  const { server, dir } = fakeInstall({ something_else: [] });
  expect(linkCoreApps(server, dir)).toBeUndefined();
  expect(linkCoreApps('/nonexistent/rabbitmq-server', dir)).toBeUndefined();
});
