// SPDX-License-Identifier: Apache-2.0
// tests/mcp/bare-server.mjs - what the bare stdio MCP servers of the
// gateway tests share (newline-delimited JSON-RPC, no dependencies): the
// line reader, the CHIO_RECORD witness file, the initialize and ping
// answers and the -32601 answer to a method a server does not handle.
// Each rev*-server.mjs passes serve() its own method table.
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;

// note - append S to the file named by CHIO_RECORD, when it is set.
export const note = (s) => {
  if (rec) fs.appendFileSync(rec, s + '\n');
};
export const send = (m, done) => process.stdout.write(JSON.stringify(m) + '\n', done);
export const reply = (id, result) => send({ jsonrpc: '2.0', id, result });
export const text = (id, t) => reply(id, { content: [{ type: 'text', text: t }] });
export const fail = (id, code, message) => send({ jsonrpc: '2.0', id, error: { code, message } });

// serve - answer the requests (a message with an id and a method) read on
// stdin; other messages are ignored, and the process exits at end of input.
//   name, capabilities: the initialize answer's serverInfo.name and
//                 capabilities;
//   record:       note every non-empty line as "got LINE" before it is
//                 handled, so an answer says every line before it is noted;
//   methods:      { method: (message, params) => ... }; initialize and ping
//                 have defaults a server may replace;
//   missing:      the message of the -32601 answer to any other method;
//   answers:      (message) => ..., called with each answer (an id and no
//                 method) the gateway sends (default: ignored).
export function serve({ name, capabilities = { tools: {} }, record = true, methods = {},
                        missing = 'method not found', answers = () => undefined }) {
  const table = {
    initialize: (m, p) => reply(m.id, {
      protocolVersion: p.protocolVersion ?? '2025-06-18',
      capabilities,
      serverInfo: { name, version: '1' },
    }),
    ping: (m) => reply(m.id, {}),
    ...methods,
  };
  const handle = (line) => {
    if (line.trim() === '') return undefined;
    if (record) note(`got ${line}`);
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (m.id !== undefined && m.method === undefined) return answers(m);
    if (m.id === undefined || typeof m.method !== 'string') return undefined;
    if (!Object.hasOwn(table, m.method)) return fail(m.id, -32601, missing);
    return table[m.method](m, m.params ?? {});
  };
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      handle(line);
    }
  });
  process.stdin.on('end', () => process.exit(0));
}
