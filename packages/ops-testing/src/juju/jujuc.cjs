#!/usr/bin/env node
// The simulator's hook-tool client in Node, used when no C compiler is available to build
// jujuc.c (same behaviour, same framing: see jujuc.c). Plain CommonJS with no dependencies.
'use strict';
const net = require('node:net');
const fs = require('node:fs');

const tool = process.argv[2];
const args = process.argv.slice(3);
const socketPath = process.env.JUJU_AGENT_SOCKET_ADDRESS;
const fail = (msg) => {
  process.stderr.write(`ERROR ${tool}: ${msg}\n`);
  process.exit(1);
};
if (!socketPath) fail('JUJU_AGENT_SOCKET_ADDRESS is not set; hook tools only work inside a hook');
const wantsStdin = args.some((a, i) => a === '--file=-' || (a === '--file' && args[i + 1] === '-'));
const field = (b) => Buffer.concat([Buffer.from(`${b.length}\n`), b]);
const fields = [tool, ...args].map((s) => field(Buffer.from(s)));
fields.push(field(wantsStdin ? fs.readFileSync(0) : Buffer.alloc(0)));
const head = Buffer.from(`JUJUC1\n${process.env.JUJU_CONTEXT_ID || ''}\n${fields.length}\n`);
const chunks = [];
const sock = net.createConnection(socketPath, () => sock.end(Buffer.concat([head, ...fields])));
sock.on('data', (d) => chunks.push(d));
sock.on('error', (e) => fail(`cannot reach the unit agent at ${socketPath}: ${e.message}`));
sock.on('end', () => {
  const buf = Buffer.concat(chunks);
  let pos = 0;
  const line = () => {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) fail('unreadable reply');
    const v = Number(buf.subarray(pos, nl).toString());
    pos = nl + 1;
    return v;
  };
  const code = line();
  const out = [];
  for (let i = 0; i < 2; i++) {
    const n = line();
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  process.stdout.write(out[0], () => process.stderr.write(out[1], () => process.exit(code)));
});
