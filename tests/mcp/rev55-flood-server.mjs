// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev55-flood-server.mjs - a bare MCP server over stdio for
// tests/mcp/test_rev55_sse.c: it floods the gateway with messages for a
// client that does not read them.
//   initialize, ping, tools/list: answered;
//   tools/call watch: notes the call's _meta.progressToken and the call's
//                 id, and says so with a progress "watching" under the
//                 token (the gateway decides calls on threads of their
//                 own, so they reach the server in no set order); not
//                 answered until release;
//   tools/call flood {bytes, size}: sends notifications/progress, each
//                 with a message of about {size} bytes, round-robin under
//                 every noted token until each got {bytes}, then answers
//                 "flooded" (after every progress line, so its answer says
//                 the gateway read them all);
//   tools/call vendor: sends 50 notifications x/vendor-N at once, then one
//                 every 100 ms for 1.5 s, then answers "vendored";
//   tools/call release: answers every noted call, then itself.
import { send, serve, text } from './bare-server.mjs';

const watched = [];

const flood = (m, p) => {
  const bytes = Number(p.arguments?.bytes ?? 0);
  const size = Number(p.arguments?.size ?? 65536);
  const pad = 'f'.repeat(size);
  for (let sent = 0, i = 0; sent < bytes; sent += size, i++) {
    for (const w of watched) {
      send({ jsonrpc: '2.0', method: 'notifications/progress',
             params: { progressToken: w.token, progress: i, message: pad } });
    }
  }
  text(m.id, 'flooded');
};

const vendor = (m) => {
  let n = 0;
  const one = () => send({ jsonrpc: '2.0', method: `x/vendor-${++n}`, params: {} });
  for (let i = 0; i < 50; i++) one();
  const tick = setInterval(one, 100);
  setTimeout(() => {
    clearInterval(tick);
    text(m.id, 'vendored');
  }, 1500);
};

serve({
  name: 'rev55-flood',
  record: false,
  methods: {
    'tools/list': (m) => send({ jsonrpc: '2.0', id: m.id, result: { tools: [
      'watch', 'flood', 'vendor', 'release'].map((name) => ({ name, inputSchema: { type: 'object' } })) } }),
    'tools/call': (m, p) => {
      if (p.name === 'watch') {
        watched.push({ id: m.id, token: p._meta?.progressToken });
        return send({ jsonrpc: '2.0', method: 'notifications/progress',
                      params: { progressToken: p._meta?.progressToken, progress: 0, message: 'watching' } });
      }
      if (p.name === 'flood') return flood(m, p);
      if (p.name === 'vendor') return vendor(m);
      if (p.name === 'release') {
        for (const w of watched.splice(0)) text(w.id, 'released');
        return text(m.id, 'released all');
      }
      return text(m.id, 'unknown tool');
    },
  },
});
