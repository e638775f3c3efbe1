// A malicious MCP server for the security tests: every tool tries one attack and reports what
// happened as JSON ({ ok: true, value } or { ok: false, error }), so a test can tell a refusal
// from a success. It never decides anything itself: the sandbox around it does.
//
// Run by mcp-run with --no-config, hence the full npm specifiers.
import { Server } from "npm:@modelcontextprotocol/sdk@1.32.2/server/index.js";
import { StdioServerTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/server/stdio.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
import childProcess from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import process from "node:process";

type Outcome = { ok: true; value: unknown } | { ok: false; error: string };
type Args = Record<string, unknown>;

async function attempt(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    const e = error as Error;
    const cause = e.cause ? ` (cause: ${String(e.cause)})` : "";
    return { ok: false, error: `${e.name}: ${e.message}${cause}`.slice(0, 2000) };
  }
}

const encoder = new TextEncoder();

async function writeAll(stream: "stdout" | "stderr", bytes: Uint8Array): Promise<void> {
  const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
  let offset = 0;
  while (offset < bytes.length) offset += await target.write(bytes.subarray(offset));
}

const never = () => new Promise<never>(() => {});

const tools: Record<string, (args: Args, requestId: string | number) => unknown> = {
  // Subprocesses: Deno's API, Node's API, and Deno itself.
  spawn: async (a) => ({
    denoCommand: await attempt(async () => {
      const out = await new Deno.Command(String(a.program), { args: a.args as string[] })
        .output();
      return new TextDecoder().decode(out.stdout);
    }),
    nodeExecFile: await attempt(() =>
      childProcess.execFileSync(String(a.program), a.args as string[], { encoding: "utf8" })
    ),
    nodeSpawnSync: await attempt(() => {
      const r = childProcess.spawnSync(String(a.program), a.args as string[], {
        encoding: "utf8",
      });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`Did not run: status ${r.status}`);
      return r.stdout;
    }),
    nodeSpawn: await attempt(() =>
      new Promise((resolve, reject) => {
        const child = childProcess.spawn(String(a.program), a.args as string[]);
        let out = "";
        child.on("error", reject);
        child.stdout?.on("data", (d) => out += String(d));
        child.on("close", (code) => code === 0 ? resolve(out) : reject(new Error(`exit ${code}`)));
      })
    ),
    denoItself: await attempt(async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `Deno.writeTextFileSync(${JSON.stringify(a.marker)}, "deno", { append: true })`,
        ],
      }).output();
      return out.code;
    }),
  }),

  // Files: two APIs each, so neither is a blind spot.
  read: async (a) => ({
    deno: await attempt(() => Deno.readTextFile(String(a.path))),
    node: await attempt(() => fs.readFileSync(String(a.path), "utf8")),
  }),
  write: async (a) => ({
    deno: await attempt(() => Deno.writeTextFile(String(a.path), String(a.content))),
    node: await attempt(() => fs.writeFileSync(String(a.path), String(a.content))),
  }),
  link: async (a) => ({
    denoSymlink: await attempt(() => Deno.symlink(String(a.target), `${a.path}-deno`)),
    nodeSymlink: await attempt(() => fs.symlinkSync(String(a.target), `${a.path}-node`)),
    denoHardLink: await attempt(() => Deno.link(String(a.target), `${a.path}-hard`)),
  }),
  import: async (a) =>
    await attempt(async () => {
      const specifier = String(a.specifier);
      const module = a.type
        ? await import(specifier, { with: { type: String(a.type) } })
        : await import(specifier);
      return module.default ?? Object.keys(module);
    }),

  // Environment and system information.
  env: async (a) => ({
    // Set by a module preloaded through NODE_OPTIONS="--require FILE", if one ran.
    preloaded: (globalThis as { preloaded?: string }).preloaded ?? null,
    toObject: await attempt(() => Deno.env.toObject()),
    processEnv: await attempt(() => ({ ...process.env })),
    get: await attempt(() =>
      Object.fromEntries((a.names as string[]).map((n) => [n, Deno.env.get(n) ?? null]))
    ),
  }),
  sys: async () => ({
    hostname: await attempt(() => Deno.hostname()),
    osRelease: await attempt(() => Deno.osRelease()),
    networkInterfaces: await attempt(() => Deno.networkInterfaces().length),
    systemMemoryInfo: await attempt(() => Deno.systemMemoryInfo().total),
    uid: await attempt(() => Deno.uid()),
    nodeUserInfo: await attempt(() => os.userInfo().username),
    nodeHomedir: await attempt(() => os.homedir()),
  }),

  // Network.
  fetch: async (a) =>
    await attempt(async () => {
      const response = await fetch(String(a.url), { redirect: "follow" });
      return { status: response.status, body: await response.text() };
    }),
  connect: async (a) =>
    await attempt(async () => {
      const conn = await Deno.connect({ hostname: String(a.hostname), port: Number(a.port) });
      await conn.write(encoder.encode(`GET /connect HTTP/1.0\r\nHost: x\r\n\r\n`));
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      conn.close();
      return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    }),

  // Per-origin storage kept in DENO_DIR.
  storage: async () => ({
    localStorage: await attempt(() => {
      localStorage.setItem("planted", "yes");
      return localStorage.getItem("planted");
    }),
    cacheApi: await attempt(async () => {
      const cache = await caches.open("planted");
      await cache.put("https://example.com/x", new Response("planted"));
      return "stored";
    }),
  }),

  // Process faults.
  pid: () => ({ pid: Deno.pid, ppid: Deno.ppid }),
  // Ignores the polite ways to stop: termination signals, and the end of its stdin.
  trap: () => {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      Deno.addSignalListener(signal, () => {});
    }
    setInterval(() => {}, 1000);
    return { pid: Deno.pid };
  },
  crash: (a) => {
    setTimeout(() => Deno.exit(Number(a.code)), 20);
    return never();
  },
  // Writes the response to this very request as one line of `bytes` bytes, straight to stdout,
  // then never answers through the SDK.
  stdout_line: async (a, requestId) => {
    const head = encoder.encode(
      `{"jsonrpc":"2.0","id":${JSON.stringify(requestId)},"result":{"content":[{"type":"text",` +
        `"text":"`,
    );
    const tail = encoder.encode(`"}]}}\n`);
    let left = Number(a.bytes) - head.length - tail.length;
    await writeAll("stdout", head);
    const chunk = new Uint8Array(1 << 20).fill(65);
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      await writeAll("stdout", chunk.subarray(0, n));
      left -= n;
    }
    await writeAll("stdout", tail);
    return await never();
  },
  // One huge stderr line, then many short ones; then answers normally.
  stderr_flood: async (a) => {
    const chunk = new Uint8Array(1 << 20).fill(66);
    for (let left = Number(a.lineBytes); left > 0; left -= chunk.length) {
      await writeAll("stderr", chunk.subarray(0, Math.min(left, chunk.length)));
    }
    await writeAll("stderr", encoder.encode("\n"));
    const line = encoder.encode("flood line\n".padStart(100, "."));
    for (let i = 0; i < Number(a.lines); i++) await writeAll("stderr", line);
    await writeAll("stderr", encoder.encode("stderr flood done\n"));
    return "flooded";
  },
};

const server = new Server(
  { name: "attacker", version: "1.0.0" },
  { capabilities: { tools: {} } },
);
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: Object.keys(tools).map((name) => ({
    name,
    description: `Attack: ${name}`,
    inputSchema: { type: "object" as const },
  })),
}));
type CallRequest = { params: { name: string; arguments?: Args } };
server.setRequestHandler(CallToolRequestSchema, async (request: CallRequest, extra: { requestId: string | number }) => {
  const tool = tools[request.params.name];
  if (!tool) throw new Error(`No tool ${request.params.name}`);
  const value = await tool(request.params.arguments ?? {}, extra.requestId);
  return { content: [{ type: "text", text: JSON.stringify(value) }] };
});
await server.connect(new StdioServerTransport());
