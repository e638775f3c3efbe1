// A minimal MCP server over stdio (no dependencies) whose tools report what the process can
// see and do from inside its sandbox. Used by tests/docker_test.ts; never run outside tests.

type Json = Record<string, unknown>;

function attempt(fn: () => unknown): string {
  try {
    const value = fn();
    return value === undefined ? "ok" : String(value);
  } catch (error) {
    return `error: ${(error as Error).name}: ${(error as Error).message}`;
  }
}

async function attemptAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    const value = await fn();
    return value === undefined ? "ok" : String(value);
  } catch (error) {
    return `error: ${(error as Error).name}: ${(error as Error).message}`;
  }
}

function status(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of Deno.readTextFileSync("/proc/self/status").split("\n")) {
      const m = line.match(/^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):\s*(\S+)/);
      if (m) out[m[1]] = m[2];
    }
  } catch (error) {
    out.error = (error as Error).message;
  }
  return out;
}

async function probe(args: Json): Promise<Json> {
  const stamp = crypto.randomUUID();
  const tmpScript = `/tmp/probe-${stamp}.sh`;
  const exec = await attemptAsync(async () => {
    await Deno.writeTextFile(tmpScript, "#!/bin/sh\necho ran\n", { mode: 0o755 });
    const out = await new Deno.Command(tmpScript, { stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim() || `exit ${out.code}`;
  });
  const result: Json = {
    uid: attempt(() => Deno.uid()),
    gid: attempt(() => Deno.gid()),
    status: status(),
    rootMount: attempt(() => {
      // Options of the mount at "/" (field 6 of /proc/self/mountinfo), e.g. "ro,relatime".
      const root = Deno.readTextFileSync("/proc/self/mountinfo").split("\n")
        .map((line) => line.split(" ")).find((f) => f[4] === "/");
      return root ? root[5] : "no root mount";
    }),
    rootWrite: attempt(() => Deno.writeTextFileSync(`/probe-${stamp}`, "x")),
    etcWrite: attempt(() => Deno.writeTextFileSync(`/etc/probe-${stamp}`, "x")),
    dockerSocket: ["/var/run/docker.sock", "/run/docker.sock"].filter((p) =>
      attempt(() => Deno.statSync(p)) === "[object Object]"
    ),
    interfaces: attempt(() =>
      [...new Set(Deno.networkInterfaces().map((i) => i.name))].sort().join(",")
    ),
    tmpExec: exec,
    // The kernel release as the process sees it (field 3 of /proc/version).
    kernel: attempt(() => Deno.readTextFileSync("/proc/version").split(" ")[2]),
    env: Deno.env.get("PROBE_NOTE") ?? null,
    secret: Deno.env.get("PROBE_SECRET") ?? null,
    envNames: attempt(() => Object.keys(Deno.env.toObject()).sort().join(",")),
  };
  for (const path of (args.read as string[] | undefined) ?? []) {
    (result.read ??= {} as Json) as Json;
    (result.read as Json)[path] = attempt(() => Deno.readTextFileSync(path));
  }
  for (const path of (args.write as string[] | undefined) ?? []) {
    (result.write ??= {} as Json) as Json;
    (result.write as Json)[path] = attempt(() => Deno.writeTextFileSync(path, `probe ${stamp}`));
  }
  return result;
}

async function forkBomb(args: Json): Promise<Json> {
  const want = Number(args.count ?? 100);
  const children: Deno.ChildProcess[] = [];
  let error = "";
  for (let i = 0; i < want; i++) {
    try {
      children.push(
        new Deno.Command("/bin/sh", {
          args: ["-c", "read x"],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    } catch (e) {
      error = `${(e as Error).name}: ${(e as Error).message}`;
      break;
    }
  }
  const started = children.length;
  for (const child of children) {
    await child.stdin.close().catch(() => {});
    await child.status;
  }
  return { started, error };
}

async function connect(args: Json): Promise<Json> {
  const result = await attemptAsync(async () => {
    const conn = await Deno.connect({ hostname: String(args.host), port: Number(args.port) });
    conn.close();
  });
  return { result };
}

function memoryBomb(args: Json): Json {
  const mb = Number(args.mb ?? 64);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < mb; i++) chunks.push(new Uint8Array(1 << 20).fill(i % 255 + 1));
  return { allocatedMb: chunks.length };
}

const TOOLS = [
  { name: "probe", description: "Report what the process can see", inputSchema: { type: "object" } },
  { name: "fork_bomb", description: "Start many processes", inputSchema: { type: "object" } },
  { name: "memory_bomb", description: "Allocate memory", inputSchema: { type: "object" } },
  { name: "connect", description: "Open a TCP connection", inputSchema: { type: "object" } },
];

async function handle(message: Json): Promise<Json | undefined> {
  const { id, method } = message;
  const params = (message.params ?? {}) as Json;
  if (id === undefined) return undefined;
  const reply = (result: Json) => ({ jsonrpc: "2.0", id, result });
  switch (method) {
    case "initialize":
      return reply({
        protocolVersion: params.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "docker-probe", version: "1.0.0" },
      });
    case "ping":
      return reply({});
    case "tools/list":
      return reply({ tools: TOOLS });
    case "tools/call": {
      const args = (params.arguments ?? {}) as Json;
      const run = params.name === "probe"
        ? probe
        : params.name === "fork_bomb"
        ? forkBomb
        : params.name === "memory_bomb"
        ? (a: Json) => Promise.resolve(memoryBomb(a))
        : params.name === "connect"
        ? connect
        : undefined;
      if (!run) return { jsonrpc: "2.0", id, error: { code: -32602, message: "unknown tool" } };
      const data = await run(args);
      return reply({ content: [{ type: "text", text: JSON.stringify(data) }] });
    }
    default:
      return { jsonrpc: "2.0", id, error: { code: -32601, message: `no method ${method}` } };
  }
}

const encoder = new TextEncoder();
let buffer = "";
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  buffer += decoder.decode(chunk, { stream: true });
  let nl: number;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, nl).trim();
    buffer = buffer.slice(nl + 1);
    if (!line) continue;
    const response = await handle(JSON.parse(line));
    if (response) await Deno.stdout.write(encoder.encode(JSON.stringify(response) + "\n"));
  }
}
