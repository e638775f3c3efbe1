"""A benign MCP server for fast tests (Python standard library only).

Speaks newline-delimited JSON-RPC over stdio (initialize, tools/list, tools/call, ping) and has
one tool, echo, that answers with its text.
"""

import json
import sys

SERVER_NAME = "mcp-run-test-echo"
VERSION = "0.1.0"

ECHO = {
    "name": "echo",
    "description": "Answers with the text it was given.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]},
}


def handle(method, params):
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": SERVER_NAME, "version": VERSION}}
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [ECHO]}
    if method == "tools/call" and params.get("name") == "echo":
        text = str((params.get("arguments") or {}).get("text", ""))
        return {"content": [{"type": "text", "text": text}], "isError": False}
    raise LookupError(method)


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "id" not in message or "method" not in message:
            continue
        try:
            reply = {"jsonrpc": "2.0", "id": message["id"],
                     "result": handle(message["method"], message.get("params") or {})}
        except LookupError as exc:
            reply = {"jsonrpc": "2.0", "id": message["id"],
                     "error": {"code": -32601, "message": "Unknown: %s" % exc}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
