#!/usr/bin/env node
// The simulator's hook-tool client, modelled on Juju's jujuc: every hook tool on PATH is a thin
// client that forwards its name, argv and (for `--file -`) stdin to the unit agent over a unix
// socket (JUJU_AGENT_SOCKET_ADDRESS) and relays the answer: stdout, stderr, exit code.
// Plain CommonJS with no dependencies, so a tool call costs one small Node start.
'use strict';
const net = require('node:net');
const fs = require('node:fs');

const tool = process.argv[2];
const args = process.argv.slice(3);
const socketPath = process.env.JUJU_AGENT_SOCKET_ADDRESS;
if (!socketPath) {
  process.stderr.write(`ERROR ${tool}: JUJU_AGENT_SOCKET_ADDRESS is not set; hook tools only work inside a hook\n`);
  process.exit(1);
}
const wantsStdin = args.some((a, i) => a === '--file=-' || (a === '--file' && args[i + 1] === '-'));
const stdin = wantsStdin ? fs.readFileSync(0, 'utf8') : '';
const sock = net.createConnection(socketPath);
let reply = '';
sock.setEncoding('utf8');
sock.on('connect', () => sock.end(JSON.stringify({ tool, args, stdin, contextId: process.env.JUJU_CONTEXT_ID || '' }) + '\n'));
sock.on('data', (d) => (reply += d));
sock.on('error', (e) => {
  process.stderr.write(`ERROR ${tool}: cannot reach the unit agent at ${socketPath}: ${e.message}\n`);
  process.exit(1);
});
sock.on('end', () => {
  let r;
  try {
    r = JSON.parse(reply);
  } catch {
    process.stderr.write(`ERROR ${tool}: the unit agent sent an unreadable reply\n`);
    process.exit(1);
  }
  process.stdout.write(r.stdout, () => process.stderr.write(r.stderr, () => process.exit(r.exitCode)));
});
