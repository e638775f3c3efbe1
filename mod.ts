/**
 * mcp-run: run MCP servers with exactly the access their manifest declares.
 *
 * @module
 */
if (import.meta.main) {
  console.log("mcp-run");
}
