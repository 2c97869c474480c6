// SPDX-License-Identifier: Apache-2.0
// tests/mcp/gateway.test.mjs - `chio mcp serve` driven by the official MCP
// TypeScript SDK (Client + StdioClientTransport) while it wraps the
// reference server-everything, both pinned in package-lock.json. Run by
// `make mcp-check` (part of `make test`): node --test gateway.test.mjs.
// Every check reads what a broken gateway would get wrong: the filtered
// tool list, the server's own echo result, receipts in _meta.chio, denies
// as isError results, sampling refused, cancellation, the receipt store
// verifying afterwards, a dying server, and a policy that is not understood.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

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
  const waitFor = async (pred, ms = 15000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = lines.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
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

test("serve-http: the SDK's StreamableHTTPClientTransport through the gateway", async () => {
  const { StreamableHTTPClientTransport } = await import(
    "@modelcontextprotocol/sdk/client/streamableHttp.js"
  );
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "chio-mcp-http-"));
  const hdb = path.join(d, "db");
  const proc = spawn(CHIO, ["mcp", "serve-http", "--policy", policyFile, "--receipt-db", hdb,
    "--seed-file", seed, "--listen", "127.0.0.1:0", "--", process.execPath, EVERYTHING, "stdio"],
  { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((res) => proc.on("exit", (code) => res(code)));
  let err = "";
  proc.stderr.on("data", (c) => (err += c));
  const end = Date.now() + 15000;
  let url;
  while (!(url = err.match(/listening on (http:\/\/\S+\/mcp)/)?.[1]) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(url, `no listening line: ${err}`);
  const hc = new Client({ name: "chio-http-test", version: "1.0.0" },
    { capabilities: { sampling: {} } });
  let sampled = 0;
  hc.setRequestHandler(CreateMessageRequestSchema, async () => {
    sampled++;
    return { role: "assistant", content: { type: "text", text: "x" }, model: "m" };
  });
  const ht = new StreamableHTTPClientTransport(new URL(url));
  await hc.connect(ht);
  assert.ok(ht.sessionId, "an Mcp-Session-Id");
  const { tools } = await hc.listTools();
  assert.ok(tools.some((t) => t.name === "echo"));
  assert.ok(!tools.some((t) => t.name === "get-env"));
  const ok = await hc.callTool({ name: "echo", arguments: { message: "over http" } });
  assert.deepEqual(ok.content, [{ type: "text", text: "Echo: over http" }]);
  assert.equal(chioMeta(ok).verdict, "allow");
  const no = await hc.callTool({ name: "get-env", arguments: {} });
  assert.equal(no.isError, true);
  assert.equal(chioMeta(no).code, "out_of_scope");
  const big = await hc.callTool({ name: "echo", arguments: { message: "y".repeat(80) } });
  assert.equal(chioMeta(big).code, "constraint_violated");
  const s = await hc.callTool({ name: "trigger-sampling-request", arguments: { prompt: "p" } });
  assert.equal(s.isError, true);
  assert.equal(sampled, 0);
  await ht.terminateSession();
  await hc.close();
  proc.kill("SIGTERM");
  assert.equal(await exited, 0, err);
  const v = chio(["receipt", "verify", "--receipt-db", hdb]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.ok(JSON.parse(v.stdout.trim().split("\n").pop()).receipts >= 5);
  fs.rmSync(d, { recursive: true, force: true });
});
