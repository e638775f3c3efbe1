"""A malicious MCP server for the sandbox tests (Python standard library only).

Speaks newline-delimited JSON-RPC over stdio (initialize, tools/list, tools/call, ping). Each tool
tries one thing a sandbox must stop, and answers with one JSON object as text that says exactly
what happened: {"ok": true, ...} or {"ok": false, "errno": "EACCES", "error": "..."}, so a test
can assert on the refusal and, run without a sandbox, on the positive control. The result's
isError is the negation of "ok".

Tools: read_file, write_file, rename_path, make_dir, write_own_code, exec_in, read_env, env_names, resolve, connect,
proxy_connect, proxy_get, fetch, fork_bomb, alloc_memory, whoami.
"""

import errno
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SERVER_NAME = "mcp-run-test-evil"
VERSION = "0.1.0"


def failure(exc):
    """Describes an exception as {"ok": false, errno, error, type}."""
    if isinstance(exc, urllib.error.HTTPError):
        return {"ok": False, "status": exc.code, "error": str(exc), "type": "HTTPError"}
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        inner = failure(exc.reason)
        inner["type"] = "URLError/" + inner["type"]
        return inner
    code = getattr(exc, "errno", None)
    name = None
    if isinstance(exc, socket.gaierror):
        name = next((n for n in dir(socket) if n.startswith("EAI_") and getattr(socket, n) == code), None)
    elif isinstance(code, int):
        name = errno.errorcode.get(code)
    elif isinstance(exc, socket.timeout):
        name = "ETIMEDOUT"
    return {"ok": False, "errno": name, "error": str(exc), "type": type(exc).__name__}


def read_file(path, limit=2000):
    with open(path, "rb") as f:
        data = f.read(limit)
    return {"ok": True, "path": path, "content": data.decode("utf-8", "replace")}


def write_file(path, content="written by evil_server"):
    with open(path, "w") as f:
        f.write(content)
    return {"ok": True, "path": path}


def rename_path(src, dst):
    os.rename(src, dst)
    return {"ok": True, "path": dst}


def make_dir(path):
    os.makedirs(path, exist_ok=True)
    return {"ok": True, "path": path}


def write_own_code():
    """Tries to create a file beside this module, then to open the module itself for writing.

    Nothing is changed when it works: the probe file is removed and nothing is written to the
    module, so the positive control leaves the code as it was."""
    folder = os.path.dirname(os.path.abspath(__file__))
    probe = os.path.join(folder, ".evil_probe_%d" % os.getpid())
    result = {"folder": folder}
    try:
        with open(probe, "w") as f:
            f.write("x")
        os.remove(probe)
        result["create"] = {"ok": True}
    except OSError as exc:
        result["create"] = failure(exc)
    try:
        with open(os.path.abspath(__file__), "ab"):
            pass
        result["open_module"] = {"ok": True}
    except OSError as exc:
        result["open_module"] = failure(exc)
    result["ok"] = result["create"]["ok"] or result["open_module"]["ok"]
    return result


def exec_in(folder):
    """Writes a tiny shell script into a folder and runs it (a noexec mount refuses)."""
    path = os.path.join(folder, "evil_exec_%d.sh" % os.getpid())
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho exec-ok\n")
    try:
        os.chmod(path, 0o755)
        done = subprocess.run([path], capture_output=True, timeout=10)
        return {"ok": done.returncode == 0, "exit_code": done.returncode,
                "stdout": done.stdout.decode("utf-8", "replace")}
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


def read_env(name):
    if name in os.environ:
        return {"ok": True, "name": name, "value": os.environ[name]}
    return {"ok": False, "name": name, "errno": None, "error": "not set"}


def env_names():
    return {"ok": True, "names": sorted(os.environ)}


def resolve(host):
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return {"ok": True, "host": host, "addresses": sorted({info[4][0] for info in infos})}


def connect(host, port, payload=None, timeout=3):
    """Opens a TCP connection directly (no proxy); sends payload and reads the answer if given."""
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        result = {"ok": True, "peer": list(sock.getpeername()[:2])}
        if payload:
            sock.sendall(payload.encode())
            result["reply"] = sock.recv(4096).decode("utf-8", "replace")
        return result


def proxy_address():
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        value = os.environ.get(name)
        if value:
            url = urllib.parse.urlsplit(value if "://" in value else "http://" + value)
            return url.hostname, url.port or 80
    raise OSError(errno.ENOENT, "no HTTP(S)_PROXY in the environment")


def proxy_raw(request, timeout=5):
    """Sends raw request text to the proxy from the environment; returns its status and head."""
    host, port = proxy_address()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    text = head.decode("utf-8", "replace")
    status_line = text.split("\r\n", 1)[0]
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return {"ok": status is not None and 200 <= status < 300, "status": status,
            "status_line": status_line, "head": text[:2000], "proxy": "%s:%d" % (host, port)}


def proxy_connect(target):
    """Asks the proxy for a tunnel: `CONNECT target` (host:port, an IP literal or a name)."""
    return proxy_raw("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))


def proxy_get(url, host_header=None):
    """Sends a plain-HTTP GET in absolute form through the proxy, optionally with a forged Host."""
    host = host_header or urllib.parse.urlsplit(url).netloc
    return proxy_raw("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (url, host))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, follow_redirects=True, insecure=False, timeout=5):
    """GETs a URL with urllib, which goes through HTTP(S)_PROXY when set."""
    handlers = [] if follow_redirects else [NoRedirect()]
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    with opener.open(url, timeout=timeout) as response:
        body = response.read(4000).decode("utf-8", "replace")
        return {"ok": True, "status": response.status, "final_url": response.geturl(), "body": body}


def fork_bomb(max=200, hold_seconds=2):
    """Forks up to `max` children that sleep, then exit; stops at the first refusal."""
    children, result = [], {"errno": None, "error": None}
    for _ in range(int(max)):
        try:
            pid = os.fork()
        except OSError as exc:
            result.update(failure(exc))
            break
        if pid == 0:
            time.sleep(float(hold_seconds))
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    result.update({"ok": len(children) == int(max), "forked": len(children), "max": int(max)})
    return result


def alloc_memory(max_mb=1024, step_mb=16):
    """Allocates (and touches) memory in a child until `max_mb` or failure; reports how it ended.

    The child, not the server, is what an out-of-memory kill hits, so the server can answer."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        held, total = [], 0
        try:
            while total < int(max_mb):
                held.append(b"\x01" * (int(step_mb) << 20))
                total += int(step_mb)
                os.write(write_end, b"%d\n" % total)
        except MemoryError:
            os._exit(3)
        os._exit(0)
    os.close(write_end)
    progress = b""
    while True:
        chunk = os.read(read_end, 4096)
        if not chunk:
            break
        progress += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    lines = progress.split()
    allocated = int(lines[-1]) if lines else 0
    result = {"allocated_mb": allocated, "max_mb": int(max_mb)}
    if os.WIFSIGNALED(status):
        result.update({"ok": False, "signal": os.WTERMSIG(status), "error": "killed by signal"})
    else:
        code = os.WEXITSTATUS(status)
        result.update({"ok": code == 0, "exit_code": code, "memory_error": code == 3})
    return result


def whoami():
    status = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("CapEff", "CapBnd", "CapPrm", "NoNewPrivs", "Seccomp"):
                    status[key] = value.strip()
    except OSError:
        pass
    return {"ok": True, "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
            "cwd": os.getcwd(), "file": os.path.abspath(__file__), "hostname": socket.gethostname(),
            "home": os.environ.get("HOME"), "status": status}


def schema(**props):
    required = [k for k, v in props.items() if not v.pop("optional", False)]
    return {"type": "object", "properties": props, "required": required}


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}


def opt(kind):
    return dict(kind, optional=True)


TOOLS = {
    "read_file": (read_file, "Reads a file.", schema(path=dict(STR))),
    "write_file": (write_file, "Writes a file.", schema(path=dict(STR), content=opt(STR))),
    "rename_path": (rename_path, "Renames a file or folder.", schema(src=dict(STR), dst=dict(STR))),
    "make_dir": (make_dir, "Makes a folder and its parents.", schema(path=dict(STR))),
    "write_own_code": (write_own_code, "Writes into the server's own code folder.", schema()),
    "exec_in": (exec_in, "Writes a script into a folder and runs it.", schema(folder=dict(STR))),
    "read_env": (read_env, "Reads an environment variable.", schema(name=dict(STR))),
    "env_names": (env_names, "Lists environment variable names.", schema()),
    "resolve": (resolve, "Resolves a host name.", schema(host=dict(STR))),
    "connect": (connect, "Connects directly to host:port.",
                schema(host=dict(STR), port=dict(INT), payload=opt(STR))),
    "proxy_connect": (proxy_connect, "CONNECT through the proxy.", schema(target=dict(STR))),
    "proxy_get": (proxy_get, "Plain HTTP GET through the proxy.",
                  schema(url=dict(STR), host_header=opt(STR))),
    "fetch": (fetch, "GETs a URL with urllib (uses HTTP(S)_PROXY).",
              schema(url=dict(STR), follow_redirects=opt(BOOL), insecure=opt(BOOL))),
    "fork_bomb": (fork_bomb, "Forks up to max children.",
                  schema(max=opt(INT), hold_seconds=opt({"type": "number"}))),
    "alloc_memory": (alloc_memory, "Allocates memory until max_mb or failure.",
                     schema(max_mb=opt(INT), step_mb=opt(INT))),
    "whoami": (whoami, "Reports uid, capabilities, folders.", schema()),
}


def call_tool(name, arguments):
    if name not in TOOLS:
        raise KeyError(name)
    try:
        result = TOOLS[name][0](**(arguments or {}))
    except Exception as exc:  # every failure is an answer, never a crash
        result = failure(exc)
    return {"content": [{"type": "text", "text": json.dumps(result)}], "isError": not result["ok"]}


def handle(message):
    method, params = message.get("method"), message.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": SERVER_NAME, "version": VERSION}}
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [{"name": n, "description": d, "inputSchema": s}
                          for n, (_, d, s) in TOOLS.items()]}
    if method == "tools/call":
        return call_tool(params.get("name"), params.get("arguments"))
    raise LookupError(method)


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        if "id" not in message or "method" not in message:
            continue  # notifications and answers to nothing we asked
        try:
            reply = {"jsonrpc": "2.0", "id": message["id"], "result": handle(message)}
        except LookupError as exc:
            # An unknown tool (KeyError) is a bad parameter; an unknown method is not found.
            code = -32602 if isinstance(exc, KeyError) else -32601
            reply = {"jsonrpc": "2.0", "id": message["id"],
                     "error": {"code": code, "message": "Unknown: %s" % exc}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
