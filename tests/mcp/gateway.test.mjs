// SPDX-License-Identifier: Apache-2.0
// tests/mcp/gateway.test.mjs - `chio mcp serve` and `chio mcp serve-http`
// driven by the official MCP TypeScript SDK (Client with
// StdioClientTransport and StreamableHTTPClientTransport) while they wrap
// the reference server-everything, both pinned in package-lock.json. Run
// by `make mcp-check` (part of `make test`): node --test gateway.test.mjs.
// Every check reads what a broken gateway would get wrong: the filtered
// tool list, the server's own echo result, receipts in _meta.chio, denies
// as isError results, sampling refused, cancellation, the receipt store
// verifying afterwards, a dying server, a policy that is not understood;
// over HTTP also concurrent sessions, SSE (progress, sampling, the GET
// stream), DELETE, the session limit, the idle timeout and a server that
// dies in one session only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CompleteResultSchema,
  CreateMessageRequestSchema,
  EmptyResultSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHIO = process.env.CHIO_CLI || path.resolve(here, "../../build/chio");
const EVERYTHING = path.join(
  here,
  "node_modules/@modelcontextprotocol/server-everything/dist/index.js",
);
const SERVER = "everything";

const policy = {
  schema: "chio.mcp-policy.v1",
  server_id: SERVER,
  grants: [
    {
      server_id: SERVER,
      tool_name: "echo",
      operations: ["invoke"],
      constraints: [{ type: "max_length", value: 64 }],
    },
    { server_id: SERVER, tool_name: "get-sum", operations: ["invoke"] },
    { server_id: SERVER, tool_name: "trigger-sampling-request", operations: ["invoke"] },
    { server_id: SERVER, tool_name: "trigger-long-running-operation", operations: ["invoke"] },
  ],
  resource_grants: [{ uri_pattern: "demo://resource/dynamic/text/*", operations: ["read"] }],
  prompt_grants: [{ prompt_name: "simple-prompt", operations: ["get"] }],
  guards: [{ name: "secret_leak" }, { name: "forbidden_path", prefixes: ["/etc/"] }],
  kernel: { allow_sampling: false, allow_elicitation: false },
};

let dir, seed, db, policyFile, client, transport, samplingCalls;

function chio(args) {
  return spawnSync(CHIO, args, { encoding: "utf8", timeout: 30000 });
}

function receipts() {
  const r = chio(["receipt", "list", "--receipt-db", db, "--format", "jsonl", "--limit", "0"]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

// The _meta.chio of a result: a 64-hex receipt id, a verdict and a code.
function chioMeta(result) {
  const m = result?._meta?.chio;
  assert.ok(m, `no _meta.chio in ${JSON.stringify(result)}`);
  assert.match(m.receipt_id, /^[0-9a-f]{64}$/);
  return m;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-"));
  seed = path.join(dir, "seed");
  db = path.join(dir, "receipts");
  policyFile = path.join(dir, "policy.json");
  const kg = chio(["keygen", "--out", seed]);
  assert.equal(kg.status, 0, kg.stderr);
  fs.writeFileSync(policyFile, JSON.stringify(policy));
  transport = new StdioClientTransport({
    command: CHIO,
    args: ["mcp", "serve", "--policy", policyFile, "--receipt-db", db, "--seed-file", seed,
      "--", process.execPath, EVERYTHING, "stdio"],
    stderr: "ignore",
  });
  client = new Client(
    { name: "chio-gateway-test", version: "1.0.0" },
    { capabilities: { sampling: {} } },
  );
  samplingCalls = 0;
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    samplingCalls++;
    return { role: "assistant", content: { type: "text", text: "sampled" }, model: "test" };
  });
  await client.connect(transport);
});

after(async () => {
  if (client) await client.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("initialize passes through to server-everything", () => {
  const info = client.getServerVersion();
  assert.match(info.name, /everything/i);
  assert.ok(client.getServerCapabilities().tools, "the server's capabilities come through");
});

test("tools/list shows only the tools the capability allows", async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.ok(names.includes("echo"));
  assert.ok(names.includes("get-sum"));
  assert.ok(!names.includes("get-env"), "get-env is not granted");
  for (const n of names) {
    assert.ok(policy.grants.some((g) => g.tool_name === n), `${n} is not granted`);
  }
});

test("an allowed echo returns the server's own result with _meta.chio", async () => {
  const r = await client.callTool({ name: "echo", arguments: { message: "hello chio" } });
  assert.equal(r.isError, undefined);
  assert.deepEqual(r.content, [{ type: "text", text: "Echo: hello chio" }]);
  const m = chioMeta(r);
  assert.equal(m.verdict, "allow");
  assert.equal(m.code, "none");
});

test("a tool outside the grants is an isError result with a receipt", async () => {
  const r = await client.callTool({ name: "get-env", arguments: {} });
  assert.equal(r.isError, true);
  const m = chioMeta(r);
  assert.equal(m.verdict, "deny");
  assert.equal(m.code, "out_of_scope");
  assert.match(r.content[0].text, /out_of_scope/);
});

test("a constraint violation is an isError result with a receipt", async () => {
  const r = await client.callTool({ name: "echo", arguments: { message: "x".repeat(100) } });
  assert.equal(r.isError, true);
  const m = chioMeta(r);
  assert.equal(m.code, "constraint_violated");
  assert.match(r.content[0].text, /max_length/);
});

test("the forbidden_path guard denies a path under /etc/", async () => {
  const r = await client.callTool({ name: "echo", arguments: { message: "/etc/shadow" } });
  assert.equal(r.isError, true);
  assert.equal(chioMeta(r).code, "guard_denied");
});

test("sampling is refused under the default policy", async () => {
  const r = await client.callTool({
    name: "trigger-sampling-request",
    arguments: { prompt: "say hi", maxTokens: 5 },
  });
  assert.equal(samplingCalls, 0, "the client's sampling handler must not run");
  assert.equal(r.isError, true, JSON.stringify(r));
  assert.match(r.content[0].text, /sampling\/createMessage denied by policy/);
  assert.equal(chioMeta(r).verdict, "allow"); // the tool call itself was allowed
  const child = receipts().find((x) => x.tool_name === "sampling/createMessage");
  assert.ok(child, "a child receipt for the refused sampling request");
  assert.equal(child.decision.verdict, "deny");
  assert.equal(child.decision.guard, "sampling_not_allowed");
});

test("resources/read and prompts/get are mediated", async () => {
  const ok = await client.readResource({ uri: "demo://resource/dynamic/text/1" });
  assert.ok(ok.contents.length > 0);
  assert.equal(chioMeta(ok).verdict, "allow");
  await assert.rejects(
    client.readResource({ uri: "demo://resource/dynamic/blob/1" }),
    /out_of_scope/,
  );
  const p = await client.getPrompt({ name: "simple-prompt" });
  assert.ok(p.messages.length > 0);
  assert.equal(chioMeta(p).verdict, "allow");
  await assert.rejects(client.getPrompt({ name: "args-prompt", arguments: { city: "x" } }),
    /out_of_scope/);
});

test("notifications/cancelled cancels a call (a cancelled receipt)", async () => {
  const ac = new AbortController();
  const call = client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 30, steps: 30 } },
    undefined,
    { signal: ac.signal },
  );
  setTimeout(() => ac.abort("test cancels"), 300);
  await assert.rejects(call);
  const deadline = Date.now() + 10000;
  let found;
  while (Date.now() < deadline) {
    found = receipts().find(
      (x) => x.tool_name === "trigger-long-running-operation" && x.decision.verdict === "cancelled",
    );
    if (found) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(found, "a cancelled receipt for the long-running call");
});

test("the receipt store verifies after the session", async () => {
  await client.close();
  client = null;
  const r = chio(["receipt", "verify", "--receipt-db", db]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout.trim().split("\n").pop());
  assert.ok(report.receipts >= 9, r.stdout);
  assert.equal(report.invalid, 0);
});

// Raw JSON lines, for what the SDK hides: exit codes and protocol versions.
function rawGateway(serverArgs, pol = policy) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-raw-"));
  const pf = path.join(d, "policy.json");
  fs.writeFileSync(pf, JSON.stringify(pol));
  const proc = spawn(CHIO, ["mcp", "serve", "--policy", pf, "--receipt-db", path.join(d, "db"),
    "--seed-file", seed, "--", ...serverArgs], { stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  let buf = "";
  let stderr = "";
  proc.stdout.on("data", (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise((res) => proc.on("exit", (code) => res(code)));
  const send = (m) => proc.stdin.write(JSON.stringify(m) + "\n");
  // 60 s: the first answer waits for the wrapped server to start (a node
  // process), which took over 15 s on a loaded 2-core VM. On a miss the
  // gateway is killed, so that the failure fails the file instead of its
  // live child keeping it running (it hung 20 minutes there).
  const waitFor = async (pred, ms = 60000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = lines.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    proc.kill("SIGKILL");
    throw new Error(`no matching message; got ${JSON.stringify(lines)}; stderr ${stderr}`);
  };
  return { proc, send, waitFor, exited, dir: d, stderr: () => stderr };
}

function initMsg(id, version) {
  return {
    jsonrpc: "2.0", id, method: "initialize",
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  };
}

test("protocol versions 2025-03-26, 2025-06-18 and 2025-11-25 pass", async () => {
  for (const v of ["2025-03-26", "2025-06-18", "2025-11-25"]) {
    const g = rawGateway([process.execPath, EVERYTHING, "stdio"]);
    g.send(initMsg(7, v));
    const r = await g.waitFor((m) => m.id === 7);
    assert.equal(r.result.protocolVersion, v);
    g.proc.stdin.end();
    assert.equal(await g.exited, 0, g.stderr());
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
});

test("a wrapped server that dies fails the pending call and the gateway exits non-zero", async () => {
  const dying = path.join(here, "dying-server.mjs");
  const pol = { ...policy, grants: [{ server_id: SERVER, tool_name: "*", operations: ["invoke"] }] };
  const g = rawGateway([process.execPath, dying], pol);
  g.send(initMsg(1, "2025-06-18"));
  await g.waitFor((m) => m.id === 1);
  g.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  g.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "crash", arguments: {} } });
  const r = await g.waitFor((m) => m.id === 2);
  assert.equal(r.result.isError, true);
  assert.match(r.result.content[0].text, /exited/);
  assert.equal(r.result._meta.chio.code, "tool_error");
  assert.notEqual(await g.exited, 0);
  fs.rmSync(g.dir, { recursive: true, force: true });
});

test("a policy with an unknown member is refused (fail closed)", () => {
  const pf = path.join(dir, "bad-policy.json");
  fs.writeFileSync(pf, JSON.stringify({ ...policy, allow_everything: true }));
  const r = chio(["mcp", "serve", "--policy", pf, "--receipt-db", path.join(dir, "bad-db"),
    "--seed-file", seed, "--", process.execPath, EVERYTHING, "stdio"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown member "allow_everything"/);
});

// ---- serve-http ----------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// A `chio mcp serve-http` on a free loopback port; resolves once it listens.
async function startHttp(pol, extra = [], serverArgs = [process.execPath, EVERYTHING, "stdio"]) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-http-"));
  const pf = path.join(d, "policy.json");
  fs.writeFileSync(pf, JSON.stringify(pol));
  const hdb = path.join(d, "db");
  const proc = spawn(CHIO, ["mcp", "serve-http", "--policy", pf, "--receipt-db", hdb,
    "--seed-file", seed, "--listen", "127.0.0.1:0", ...extra, "--", ...serverArgs],
  { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((res) => proc.on("exit", (code) => res(code)));
  let err = "";
  proc.stderr.on("data", (c) => (err += c));
  const url = await until("the listening line", () =>
    err.match(/listening on (http:\/\/\S+\/mcp)/)?.[1] ||
    (proc.exitCode !== null && Promise.reject(new Error(err))), 15000);
  return { url, proc, exited, db: hdb, dir: d, stderr: () => err };
}

// An SDK client over Streamable HTTP that counts what reaches its handlers.
async function httpClient(url, { roots = false } = {}) {
  const seen = { sampled: 0, roots: 0, logs: [] };
  const caps = { sampling: {} };
  if (roots) caps.roots = { listChanged: true };
  const c = new Client({ name: "chio-http-test", version: "1.0.0" }, { capabilities: caps });
  c.setRequestHandler(CreateMessageRequestSchema, async () => {
    seen.sampled++;
    return { role: "assistant", content: { type: "text", text: "sampled over sse" }, model: "m" };
  });
  if (roots) {
    c.setRequestHandler(ListRootsRequestSchema, async () => {
      seen.roots++;
      return { roots: [{ uri: "file:///tmp/chio-root", name: "r" }] };
    });
  }
  c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.logs.push(n.params));
  const t = new StreamableHTTPClientTransport(new URL(url));
  t.onerror = () => {}; // reconnection noise after DELETE or shutdown
  await c.connect(t);
  return { c, t, seen };
}

// One raw JSON-RPC POST; the status, content type and parsed body.
async function rawPost(url, msg, { session, accept = "application/json, text/event-stream" } = {}) {
  const headers = { "content-type": "application/json", accept };
  if (session) headers["mcp-session-id"] = session;
  const r = await fetch(url, { method: "POST", headers, body: JSON.stringify(msg) });
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, type: r.headers.get("content-type"), session: r.headers.get("mcp-session-id"), body };
}

async function stopHttp(g) {
  g.proc.kill("SIGTERM");
  assert.equal(await g.exited, 0, g.stderr());
}

function receiptsOf(store) {
  const r = chio(["receipt", "list", "--receipt-db", store, "--format", "jsonl", "--limit", "0"]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

let h1, a, b;

test("serve-http: two concurrent sessions, each with its own results and session id", async () => {
  h1 = await startHttp(policy, ["--max-sessions", "2"]);
  [a, b] = await Promise.all([httpClient(h1.url), httpClient(h1.url)]);
  assert.match(a.t.sessionId, /^[0-9a-f]{32}$/);
  assert.match(b.t.sessionId, /^[0-9a-f]{32}$/);
  assert.notEqual(a.t.sessionId, b.t.sessionId);
  const { tools } = await a.c.listTools();
  assert.ok(tools.some((t) => t.name === "echo"));
  assert.ok(!tools.some((t) => t.name === "get-env"), "the filter holds over HTTP");
  const [ra, rb] = await Promise.all([
    a.c.callTool({ name: "echo", arguments: { message: "from session a" } }),
    b.c.callTool({ name: "echo", arguments: { message: "from session b" } }),
  ]);
  assert.deepEqual(ra.content, [{ type: "text", text: "Echo: from session a" }]);
  assert.deepEqual(rb.content, [{ type: "text", text: "Echo: from session b" }]);
  assert.equal(chioMeta(ra).verdict, "allow");
  assert.notEqual(chioMeta(ra).receipt_id, chioMeta(rb).receipt_id);
  const no = await b.c.callTool({ name: "get-env", arguments: {} });
  assert.equal(no.isError, true);
  assert.equal(chioMeta(no).code, "out_of_scope");
  const big = await b.c.callTool({ name: "echo", arguments: { message: "y".repeat(80) } });
  assert.equal(chioMeta(big).code, "constraint_violated");
});

test("serve-http: past --max-sessions an initialize gets 503 and a JSON-RPC error", async () => {
  const r = await rawPost(h1.url, initMsg(1, "2025-06-18"));
  assert.equal(r.status, 503);
  assert.equal(r.body.error.code, -32000);
  assert.match(r.body.error.message, /max-sessions 2/);
  const c = new Client({ name: "third", version: "1" });
  await assert.rejects(c.connect(new StreamableHTTPClientTransport(new URL(h1.url))));
});

test("serve-http: two Content-Length headers get a 400 and the connection closes", async () => {
  // libmicrohttpd framed the body by the first one: the rest of the body
  // was read as a next request (a desync with any proxy reading the last).
  const u = new URL(h1.url);
  const body = JSON.stringify(initMsg(7, "2025-06-18"));
  const second = 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}';
  const raw = `POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nContent-Length: 2\r\n` +
    `Content-Length: ${body.length + second.length}\r\n\r\n${body}${second}`;
  const got = await new Promise((res, rej) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.end(raw));
    let text = "";
    sock.on("data", (c) => (text += c));
    sock.on("error", rej);
    sock.on("close", () => res(text));
  });
  assert.match(got, /^HTTP\/1\.1 400 /, got);
  assert.match(got, /more than one Content-Length header/, got);
  assert.equal((got.match(/HTTP\/1\.1 /g) || []).length, 1, got);
});

test("serve-http: a malformed header name gets a 400 and what follows is never read", async () => {
  // libmicrohttpd took "Content-Length : N" and a folded line for no
  // Content-Length at all: the body's bytes were read as a next request,
  // where a proxy reading the length forwarded them as this one's body.
  const u = new URL(h1.url);
  const second = 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}';
  for (const hidden of [`Content-Length : ${second.length}`, `Content-Length:\r\n ${second.length}`,
    "X-Pad: a\r\n\tTransfer-Encoding: chunked"]) {
    const raw = `POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\n${hidden}\r\n\r\n${second}`;
    const got = await new Promise((res, rej) => {
      const sock = net.connect(Number(u.port), u.hostname, () => sock.end(raw));
      let text = "";
      sock.on("data", (c) => (text += c));
      sock.on("error", rej);
      sock.on("close", () => res(text));
    });
    assert.match(got, /^HTTP\/1\.1 400 /, got);
    assert.match(got, /malformed header name/, got);
    assert.equal((got.match(/HTTP\/1\.1 /g) || []).length, 1, got);
  }
});

test("serve-http: a Content-Length past 4 MiB is a 413 from the headers alone", async () => {
  // It was read (and dropped) until the request deadline closed the
  // connection without an answer, ten seconds later.
  const u = new URL(h1.url);
  const raw = `POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${(4 << 20) + 1}\r\n\r\n{"jsonrpc":`;
  const started = Date.now();
  const got = await new Promise((res, rej) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(raw));
    let text = "";
    sock.on("data", (c) => (text += c));
    sock.on("error", rej);
    sock.on("close", () => res(text));
  });
  assert.match(got, /^HTTP\/1\.1 413 /, got);
  assert.match(got, /"code":-32600,"message":"chio: body too large"/, got);
  assert.ok(Date.now() - started < 8000, "answered before the request deadline");
});

test("serve-http: progress notifications reach the client over the POST's SSE stream", async () => {
  const progress = [];
  const r = await a.c.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push(p) },
  );
  assert.match(r.content[0].text, /Long running operation completed/);
  assert.equal(chioMeta(r).verdict, "allow");
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3]);
});

test("serve-http: the POST's SSE stream carries the call's progress, then its answer, then ends", async () => {
  const r = await fetch(h1.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": b.t.sessionId,
    },
    body: JSON.stringify({
      jsonrpc: "2.0", id: "raw-1", method: "tools/call",
      params: { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 2 },
        _meta: { progressToken: "tok-raw" } },
    }),
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/event-stream/);
  const text = await r.text(); // the stream ends after the answer
  const events = text.split("\n\n").filter((e) => e.trim() !== "" && !e.startsWith(":"));
  const msgs = events.map((e) => {
    assert.match(e, /^id: \d+\ndata: /, `an event with an id: ${e}`);
    return JSON.parse(e.slice(e.indexOf("data: ") + 6));
  });
  assert.deepEqual(
    msgs.slice(0, -1).map((m) => [m.method, m.params.progressToken, m.params.progress]),
    [["notifications/progress", "tok-raw", 1], ["notifications/progress", "tok-raw", 2]],
  );
  const last = msgs.at(-1);
  assert.equal(last.id, "raw-1");
  assert.equal(last.result._meta.chio.verdict, "allow");
});

test("serve-http: sampling is refused under the default policy (the handler never runs)", async () => {
  const s = await b.c.callTool({ name: "trigger-sampling-request", arguments: { prompt: "p" } });
  assert.equal(s.isError, true);
  assert.match(s.content[0].text, /sampling\/createMessage denied by policy/);
  assert.equal(b.seen.sampled, 0);
});

test("serve-http: a second GET stream for a session gets 409", async () => {
  // The SDK client opened the session's GET stream after initializing.
  const r = await fetch(h1.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": b.t.sessionId },
  });
  await r.body?.cancel();
  assert.equal(r.status, 409);
  const none = await fetch(h1.url, { headers: { accept: "text/event-stream" } });
  await none.body?.cancel();
  assert.equal(none.status, 400, "GET without a session");
});

test("serve-http: DELETE ends one session (404 after) while the other keeps working", async () => {
  const gone = a.t.sessionId;
  await a.t.terminateSession();
  await a.c.close();
  const r = await rawPost(h1.url, { jsonrpc: "2.0", id: 9, method: "tools/list" }, { session: gone });
  assert.equal(r.status, 404);
  const ok = await b.c.callTool({ name: "echo", arguments: { message: "still here" } });
  assert.deepEqual(ok.content, [{ type: "text", text: "Echo: still here" }]);
  // The ended session's slot frees once it is torn down.
  const c = await until("a free session slot", async () => {
    const t = new StreamableHTTPClientTransport(new URL(h1.url));
    const cl = new Client({ name: "after-delete", version: "1" });
    try {
      await cl.connect(t);
      return { cl, t };
    } catch {
      return null;
    }
  });
  assert.ok(c.t.sessionId && c.t.sessionId !== gone && c.t.sessionId !== b.t.sessionId);
  await c.t.terminateSession();
  await c.cl.close();
});

test("serve-http: SIGTERM exits 0 and both sessions' receipts verify", async () => {
  await b.t.terminateSession();
  await b.c.close();
  await stopHttp(h1);
  const v = chio(["receipt", "verify", "--receipt-db", h1.db]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const rs = receiptsOf(h1.db).filter((x) => x.tool_name === "echo");
  const byMsg = (m) => rs.find((x) => x.action.parameters.message === m);
  const ra = byMsg("from session a"), rb = byMsg("from session b");
  assert.ok(ra && rb, "receipts of both sessions' calls");
  const sess = (x) => x.metadata.receipt_context.session_id;
  assert.match(sess(ra), /^sess-/);
  assert.match(sess(rb), /^sess-/);
  assert.notEqual(sess(ra), sess(rb), "each session has its own kernel session");
  fs.rmSync(h1.dir, { recursive: true, force: true });
});

test("serve-http: allowed sampling reaches the handler over SSE; roots/list over GET; logs", async () => {
  const grants = [...policy.grants,
    { server_id: SERVER, tool_name: "toggle-simulated-logging", operations: ["invoke"] }];
  const g = await startHttp({ ...policy, grants, kernel: { allow_sampling: true } });
  const s = await httpClient(g.url, { roots: true });
  const r = await s.c.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi" } });
  assert.equal(s.seen.sampled, 1, "the client's sampling handler ran once");
  assert.equal(r.isError, undefined, JSON.stringify(r));
  assert.match(r.content[0].text, /sampled over sse/);
  assert.equal(chioMeta(r).verdict, "allow");
  const child = receiptsOf(g.db).find((x) => x.tool_name === "sampling/createMessage");
  assert.ok(child, "a child receipt for the sampling request");
  assert.equal(child.decision.verdict, "allow");
  // server-everything asks for roots after initialization, outside any
  // call: the request goes over the session's GET stream, the answer comes
  // back in a POST, and the server logs what it got (GET stream again).
  // Its first ask comes 350 ms after initialization; should the GET stream
  // not have been open yet, roots/list_changed makes it ask again.
  let nudged = Date.now();
  await until("roots/list at the client", async () => {
    if (s.seen.roots > 0) return true;
    if (Date.now() - nudged > 500) {
      nudged = Date.now();
      await s.c.sendRootsListChanged();
    }
    return false;
  });
  await until("the server's log about the roots", () =>
    s.seen.logs.some((l) => /Roots updated: 1 root/.test(String(l.data))));
  // A log message the server sends during a call goes on that call's
  // stream, before its answer (server-everything logs once at once when
  // its simulated logging is switched on).
  const r2 = await fetch(g.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream",
      "mcp-session-id": s.t.sessionId },
    body: JSON.stringify({ jsonrpc: "2.0", id: "log-1", method: "tools/call",
      params: { name: "toggle-simulated-logging", arguments: {} } }),
  });
  const msgs = (await r2.text()).split("\n\n").filter((e) => e.startsWith("id: "))
    .map((e) => JSON.parse(e.slice(e.indexOf("data: ") + 6)));
  assert.deepEqual(msgs.map((m) => m.method ?? m.id), ["notifications/message", "log-1"]);
  // A session with no GET stream: the server's roots/list fails at once
  // (server-everything logs the gateway's error) instead of hanging.
  const raw = await rawPost(g.url, { ...initMsg(1, "2025-06-18"),
    params: { ...initMsg(1, "2025-06-18").params, capabilities: { roots: {} } } },
  { accept: "application/json" });
  assert.equal(raw.status, 200);
  await rawPost(g.url, { jsonrpc: "2.0", method: "notifications/initialized" },
    { session: raw.session, accept: "application/json" });
  await until("the refused roots/list", () =>
    /Failed to request roots from client[^\n]*cannot be reached/.test(g.stderr()));
  await s.t.terminateSession();
  await s.c.close();
  await stopHttp(g);
  fs.rmSync(g.dir, { recursive: true, force: true });
});

test("serve-http: a dying server ends its own session only; idle sessions end; JSON answers", async () => {
  const dying = path.join(here, "dying-server.mjs");
  const pol = { ...policy, grants: [{ server_id: SERVER, tool_name: "*", operations: ["invoke"] }] };
  const g = await startHttp(pol, ["--session-idle-secs", "1"], [process.execPath, dying]);
  const victim = await httpClient(g.url);
  const other = await httpClient(g.url);
  const r = await victim.c.callTool({ name: "crash", arguments: {} });
  assert.equal(r.isError, true);
  assert.match(r.content[0].text, /exited/);
  assert.equal(chioMeta(r).code, "tool_error");
  const after = await until("the dead server's session to end", async () => {
    const x = await rawPost(g.url, { jsonrpc: "2.0", id: 3, method: "tools/list" },
      { session: victim.t.sessionId });
    return x.status === 404 ? x : null;
  });
  assert.equal(after.status, 404);
  const { tools } = await other.c.listTools();
  assert.ok(tools.some((t) => t.name === "crash"), "the other session's server still answers");
  assert.equal(g.proc.exitCode, null, "the gateway keeps running");
  await victim.c.close();
  await other.t.terminateSession();
  await other.c.close();
  // A client that accepts only JSON gets its answer as application/json.
  const init = await rawPost(g.url, initMsg(1, "2025-06-18"), { accept: "application/json" });
  assert.equal(init.status, 200);
  assert.match(init.type, /^application\/json/);
  assert.equal(init.body.result.protocolVersion, "2025-06-18");
  assert.match(init.session, /^[0-9a-f]{32}$/);
  const sent = performance.now(); // the session's last use comes after this
  const note = await rawPost(g.url, { jsonrpc: "2.0", method: "notifications/initialized" },
    { session: init.session, accept: "application/json" });
  assert.equal(note.status, 202);
  // Unused for --session-idle-secs, the session ends (the janitor says so),
  // and never before that second is over (the idle clock counted whole
  // seconds and could end a session almost a second early).
  await until("the idle session to end", () =>
    g.stderr().includes(`session ${init.session} idle`), 10000);
  const idleMs = performance.now() - sent;
  assert.ok(idleMs >= 1000, `ended after ${idleMs.toFixed(0)} ms of a 1 s idle limit`);
  const late = await rawPost(g.url, { jsonrpc: "2.0", id: 2, method: "tools/list" },
    { session: init.session, accept: "application/json" });
  assert.equal(late.status, 404);
  await stopHttp(g);
  fs.rmSync(g.dir, { recursive: true, force: true });
});

// ---- bytes the server reads (rev23-svc) ----------------------------------------

test("a CR or LF inside a client message never reaches the server as a message of its own", async () => {
  // JSON allows CR and LF as whitespace; a line-based server (LF: every
  // MCP SDK; CR too: Python's text mode) ends a line there, so a request
  // hidden in a notification or a response ran undecided, with no receipt.
  const rd = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-rec-"));
  const rec = path.join(rd, "rec.log");
  process.env.CHIO_RECORD = rec;
  const recPol = {
    schema: "chio.mcp-policy.v1", server_id: "rec",
    grants: [{ server_id: "rec", tool_name: "echo", operations: ["invoke"] }],
  };
  const server = [process.execPath, path.join(here, "recording-server.mjs")];
  const hidden = (id) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call",
    params: { name: "rm-rf", arguments: {} } });
  const g = rawGateway(server, recPol);
  g.send(initMsg(1, "2025-06-18"));
  await g.waitFor((m) => m.id === 1);
  g.proc.stdin.write(`{"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":{"a":\r${hidden(99)}\r}}\n`);
  g.proc.stdin.write(`{"jsonrpc":"2.0","id":"r1","result":{"a":\r${hidden(98)}\r}}\n`);
  g.send({ jsonrpc: "2.0", id: 2, method: "tools/list" }); // read after the two above
  await g.waitFor((m) => m.id === 2);
  g.proc.stdin.end();
  assert.equal(await g.exited, 0, g.stderr());

  const h = await startHttp(recPol, [], server);
  const init = await rawPost(h.url, initMsg(1, "2025-06-18"), { accept: "application/json" });
  assert.equal(init.status, 200);
  const body = `{"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":{"a":\n${hidden(97)}\n}}`;
  const r = await fetch(h.url, { method: "POST", body, headers: {
    "content-type": "application/json", accept: "application/json", "mcp-session-id": init.session } });
  assert.equal(r.status, 202);
  const list = await rawPost(h.url, { jsonrpc: "2.0", id: 2, method: "tools/list" },
    { session: init.session, accept: "application/json" });
  assert.equal(list.status, 200);
  await stopHttp(h);

  const seen = fs.readFileSync(rec, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(!seen.some((m) => m.method === "tools/call"), JSON.stringify(seen));
  assert.ok(!seen.some((m) => m.unparsed !== undefined), JSON.stringify(seen));
  assert.equal(seen.filter((m) => m.method === "notifications/roots/list_changed").length, 2, JSON.stringify(seen));
  delete process.env.CHIO_RECORD;
  fs.rmSync(rd, { recursive: true, force: true });
  fs.rmSync(g.dir, { recursive: true, force: true });
  fs.rmSync(h.dir, { recursive: true, force: true });
});

test("serve-http: a Host that is not a loopback name is refused (DNS rebinding); none or two on HTTP/1.1 is 400", async () => {
  // A rebound page's requests name the page's host; a same-origin GET
  // carries no Origin, so the Host is what shows them.
  const h = await startHttp(policy);
  const u = new URL(h.url);
  const body = JSON.stringify(initMsg(1, "2025-06-18"));
  // write, not end: the gateway reads a client's FIN while a request
  // waits as the client gone (no answer), and the wrapped server's start
  // can take over a second on a busy machine.
  // host: one Host value, an array of them (one line each), or [] for none.
  const raw = (host) => new Promise((res, rej) => {
    const lines = [].concat(host).map((v) => `Host: ${v}\r\n`).join("");
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(
      `POST /mcp HTTP/1.1\r\n${lines}Content-Type: application/json\r\n` +
      `Accept: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    let text = "";
    sock.on("data", (c) => (text += c));
    sock.on("error", rej);
    sock.on("close", () => res(text));
  });
  try {
    for (const host of [`rebound.example:${u.port}`, "127.0.0.1.evil.example", `localhost:${u.port}x`,
    "[::1"]) {
      const got = await raw(host);
      assert.match(got, /^HTTP\/1\.1 403 /, `${host}: ${got}`);
      assert.doesNotMatch(got, /mcp-session-id/i, got);
    }
    // HTTP/1.1 without a Host, or with two (RFC 9112 3.2): 400.
    for (const host of [[], [`localhost:${u.port}`, "rebound.example"]]) {
      const got = await raw(host);
      assert.match(got, /^HTTP\/1\.1 400 /, `${host}: ${got}`);
      assert.doesNotMatch(got, /mcp-session-id/i, got);
    }
    for (const host of [`localhost:${u.port}`, `127.0.0.1:${u.port}`, `[::1]:${u.port}`, "LocalHost"]) {
      const got = await raw(host);
      assert.match(got, /^HTTP\/1\.1 200 /, `${host}: ${got}`);
    }
  } finally {
    await stopHttp(h);
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("serve-http: a refused Host or Origin is answered from the headers, before the body is read", async () => {
  // The rule runs before a body is waited for (as the sidecar's does): a
  // page's POST declaring a body it never sends is answered at once, and
  // a wrong path with a rebound Host is 403, not 404.
  const h = await startHttp(policy);
  const u = new URL(h.url);
  // Resolves with what came back once the status line is in, or with what
  // came back by the deadline (the old code waited for the body).
  const headersOnly = (path, extra) => new Promise((res, rej) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(
      `POST ${path} HTTP/1.1\r\n${extra}Content-Type: application/json\r\n` +
      "Accept: application/json\r\nContent-Length: 100000\r\n\r\n"));
    let text = "";
    const done = () => { clearTimeout(timer); sock.destroy(); res(text); };
    const timer = setTimeout(done, 5000);
    sock.on("data", (c) => { text += c; if (/\r\n/.test(text)) done(); });
    sock.on("error", (e) => { clearTimeout(timer); rej(e); });
    sock.on("close", done);
  });
  try {
    for (const [path, extra] of [
      ["/mcp", "Host: rebound.example\r\n"],
      ["/mcp", `Host: ${u.host}\r\nOrigin: http://rebound.example\r\n`],
      ["/elsewhere", "Host: rebound.example\r\n"],
    ]) {
      const got = await headersOnly(path, extra);
      assert.match(got, /^HTTP\/1\.1 403 /, `${path} ${JSON.stringify(extra)}: ${JSON.stringify(got)}`);
    }
  } finally {
    await stopHttp(h);
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("serve-http: half-sent requests past the connection cap do not lock a client out", async () => {
  // --max-sessions 1 keeps 4 + 16 connections: 24 that never finish their
  // headers used to hold them all, and an initialize was closed unanswered.
  // Past the cap a new connection evicts the oldest one still waiting.
  const h = await startHttp(policy, ["--max-sessions", "1"]);
  const u = new URL(h.url);
  const held = [];
  try {
    for (let i = 0; i < 24; i++) {
      held.push(await new Promise((res, rej) => {
        const sock = net.connect(Number(u.port), u.hostname, () => {
          sock.write(`POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\n`);
          res(sock);
        });
        sock.resume(); // reads the server's close
        sock.on("error", () => {});
        sock.once("error", rej);
      }));
    }
    const r = await fetch(h.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(initMsg(1, "2025-06-18")),
      // the answer waits for the wrapped server to start: over 5 s on a
      // loaded VM; the old code closed the connection unanswered
      signal: AbortSignal.timeout(60000),
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("mcp-session-id") || "", /^[0-9a-f]{32}$/);
    await r.text();
    // The oldest held ones were closed: at most 20 kept.
    await until("evictions", () => held.slice(0, 4).every((s) => s.destroyed || s.readableEnded), 3000);
  } finally {
    for (const s of held) s.destroy();
    await stopHttp(h);
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

// ---- methods the gateway does not mediate (rev23-svc2) -------------------------

// What a client of server-everything learns through the gateway.
async function checkCut(c) {
  const { prompts } = await c.listPrompts();
  assert.deepEqual(prompts.map((p) => p.name), ["simple-prompt"]);
  const { resourceTemplates } = await c.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate),
    ["demo://resource/dynamic/text/{resourceId}"]);
  const { resources } = await c.listResources();
  for (const r of resources) assert.match(r.uri, /^demo:\/\/resource\/dynamic\/text\//);
  const done = await c.complete({
    ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" },
    argument: { name: "resourceId", value: "1" },
  });
  assert.ok(Array.isArray(done.completion.values), JSON.stringify(done));
  // Each refusal is a denial the client caused: it carries the id of its
  // deny receipt, committed before the answer (refusal.c).
  const refused = async (p, code) => {
    const e = await p.then(() => null, (x) => x);
    assert.ok(e, "refused");
    assert.equal(e.code, code, String(e));
    assert.match(e.data?.chio?.receipt_id || "", /^[0-9a-f]{64}$/, JSON.stringify(e.data));
    assert.equal(e.data.chio.verdict, "deny");
    assert.equal(e.data.chio.code, "out_of_scope");
  };
  await refused(c.complete({
    ref: { type: "ref/prompt", name: "completable-prompt" },
    argument: { name: "department", value: "" },
  }), -32602);
  await refused(c.complete({
    ref: { type: "ref/resource", uri: "demo://resource/dynamic/blob/{resourceId}" },
    argument: { name: "resourceId", value: "" },
  }), -32602);
  await refused(c.subscribeResource({ uri: "demo://resource/dynamic/blob/1" }), -32602);
  await refused(c.request({ method: "tools/batch", params: {} }, EmptyResultSchema), -32601);
  // A notification the gateway does not pass is dropped with a deny
  // receipt (nobody to answer); the gateway reads the client's lines in
  // order, so it is committed before the request after it is answered.
  await c.notification({ method: "x/notify", params: { cmd: "id" } });
  await refused(c.request({ method: "x/exec", params: {} }, CompleteResultSchema), -32601);
}

test("lists, completion and subscriptions are cut to the grants (server-everything)", async () => {
  // resources/list, resources/templates/list and prompts/list passed the
  // server's whole answer, and completion/complete reached the server for
  // any prompt or resource: an agent learnt what it was not granted.
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-cut-"));
  const c = new Client({ name: "cut", version: "1" });
  await c.connect(new StdioClientTransport({
    command: CHIO,
    args: ["mcp", "serve", "--policy", policyFile, "--receipt-db", path.join(d, "db"),
      "--seed-file", seed, "--", process.execPath, EVERYTHING, "stdio"],
    stderr: "ignore",
  }));
  try {
    await checkCut(c);
  } finally {
    await c.close();
  }
  // The refusals' receipts: the method as tool_name, a summary in place of
  // the params (no guard read them), the gateway's reason.
  const refusals = receiptsOf(path.join(d, "db")).filter((x) => x.decision?.guard === "out_of_scope"
    && x.metadata?.mcp_refusal);
  assert.deepEqual(refusals.map((x) => x.tool_name).sort(),
    ["completion/complete", "completion/complete", "resources/subscribe", "tools/batch", "x/exec",
      "x/notify"]);
  for (const x of refusals) {
    assert.equal(x.decision.verdict, "deny");
    assert.equal(x.redaction_mode, "summary");
    assert.deepEqual(Object.keys(x.action.parameters).sort(), ["params_bytes", "params_sha256"]);
    if (x.tool_name === "x/notify")
      assert.deepEqual(x.metadata.mcp_refusal, { notification: true }, JSON.stringify(x));
    else
      assert.ok([-32601, -32602].includes(x.metadata.mcp_refusal.jsonrpc_code), JSON.stringify(x));
  }
  const h = await startHttp(policy);
  const hc = await httpClient(h.url);
  try {
    await checkCut(hc.c);
  } finally {
    await hc.c.close();
    await stopHttp(h);
    fs.rmSync(h.dir, { recursive: true, force: true });
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test("unknown methods never reach the server, over stdio and serve-http (recording server)", async () => {
  const rd = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-rec2-"));
  const rec = path.join(rd, "rec.log");
  process.env.CHIO_RECORD = rec;
  const recPol = {
    schema: "chio.mcp-policy.v1", server_id: "rec",
    grants: [{ server_id: "rec", tool_name: "echo", operations: ["invoke"] }],
    prompt_grants: [{ prompt_name: "simple", operations: ["get"] }],
  };
  const server = [process.execPath, path.join(here, "recording-server.mjs")];
  const bad = [
    { jsonrpc: "2.0", id: 11, method: "tools/batch", params: { name: "rm-rf" } },
    { jsonrpc: "2.0", id: 12, method: "x/exec", params: { name: "rm-rf" } },
    { jsonrpc: "2.0", id: 13, method: "completion/complete",
      params: { ref: { type: "ref/prompt", name: "admin" }, argument: { name: "a", value: "" } } },
    { jsonrpc: "2.0", id: 14, method: "resources/subscribe", params: { uri: "file:///etc/passwd" } },
  ];
  const live = (proc) => proc.exitCode === null && proc.signalCode === null;
  const g = rawGateway(server, recPol);
  try {
    g.send(initMsg(1, "2025-06-18"));
    await g.waitFor((m) => m.id === 1);
    for (const m of bad) g.send(m);
    g.send({ jsonrpc: "2.0", method: "x/exec", params: { name: "rm-rf" } });
    for (const m of bad) {
      const r = await g.waitFor((x) => x.id === m.id);
      assert.equal(r.error.code, m.id < 13 ? -32601 : -32602, JSON.stringify(r));
    }
    g.send({ jsonrpc: "2.0", id: 2, method: "tools/list" }); // read after the ones above
    await g.waitFor((m) => m.id === 2);
    g.proc.stdin.end();
    assert.equal(await g.exited, 0, g.stderr());
  } finally {
    if (live(g.proc)) g.proc.kill("SIGKILL");
  }

  const h = await startHttp(recPol, [], server);
  try {
    const init = await rawPost(h.url, initMsg(1, "2025-06-18"), { accept: "application/json" });
    assert.equal(init.status, 200);
    for (const m of bad) {
      const r = await rawPost(h.url, m, { session: init.session, accept: "application/json" });
      assert.equal(r.status, 200);
      assert.equal(r.body.error.code, m.id < 13 ? -32601 : -32602, JSON.stringify(r.body));
    }
    const n = await rawPost(h.url, { jsonrpc: "2.0", method: "x/exec", params: {} },
      { session: init.session, accept: "application/json" });
    assert.equal(n.status, 202);
    const list = await rawPost(h.url, { jsonrpc: "2.0", id: 2, method: "tools/list" },
      { session: init.session, accept: "application/json" });
    assert.equal(list.status, 200);
    await stopHttp(h);
  } finally {
    if (live(h.proc)) h.proc.kill("SIGKILL");
  }

  const seen = fs.readFileSync(rec, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const methods = seen.map((m) => m.method);
  for (const m of ["tools/batch", "x/exec", "completion/complete", "resources/subscribe"])
    assert.ok(!methods.includes(m), `${m} reached the server: ${JSON.stringify(seen)}`);
  assert.equal(methods.filter((m) => m === "tools/list").length, 2, JSON.stringify(seen));
  delete process.env.CHIO_RECORD;
  fs.rmSync(rd, { recursive: true, force: true });
  fs.rmSync(g.dir, { recursive: true, force: true });
  fs.rmSync(h.dir, { recursive: true, force: true });
});
