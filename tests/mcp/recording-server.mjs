// SPDX-License-Identifier: Apache-2.0
// tests/mcp/recording-server.mjs - a bare MCP server over stdio that reads
// its input the way Python's text mode does (universal newlines: "\n",
// "\r" and "\r\n" each end a line, as in the Python MCP SDK's stdio
// server) and appends each message's method and tool name to the file
// named by CHIO_RECORD: the gateway test's witness of what reached the
// server. It answers initialize, tools/list and every tools/call.
import fs from "node:fs";

const out = process.env.CHIO_RECORD;
let buf = "";

function send(m) {
  process.stdout.write(JSON.stringify(m) + "\n");
}

function handle(line) {
  if (line === "") return;
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    fs.appendFileSync(out, JSON.stringify({ unparsed: line.slice(0, 40) }) + "\n");
    return;
  }
  fs.appendFileSync(out, JSON.stringify({ method: m.method, name: m.params?.name }) + "\n");
  if (m.id === undefined || typeof m.method !== "string") return;
  let result = {};
  if (m.method === "initialize") {
    result = {
      protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} },
      serverInfo: { name: "recording", version: "1" },
    };
  } else if (m.method === "tools/list") {
    result = { tools: [{ name: "echo", inputSchema: { type: "object" } }] };
  } else if (m.method === "tools/call") {
    result = { content: [{ type: "text", text: `ran ${m.params.name}` }] };
  }
  send({ jsonrpc: "2.0", id: m.id, result });
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => {
  buf += c;
  const lines = buf.split(/\r\n|\r|\n/);
  buf = lines.pop();
  lines.forEach(handle);
});
