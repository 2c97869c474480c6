// SPDX-License-Identifier: Apache-2.0
// tests/mcp/dying-server.mjs - an MCP server (the SDK's McpServer over
// stdio) whose one tool, "crash", exits the process before answering: the
// gateway test's wrapped server that dies with a call pending.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "dying", version: "1.0.0" });
server.registerTool("crash", { description: "exits before answering" }, async () => {
  process.exit(3);
});
await server.connect(new StdioServerTransport());
