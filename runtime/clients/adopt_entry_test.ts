import assert from "node:assert/strict";
import { recogniseCommand, recogniseEntry } from "./adopt_entry.ts";

type Expect = {
  kind?: string;
  name?: string;
  version?: string;
  wanted?: string;
  args?: string[];
  passEnv?: string[];
  env?: Record<string, string>;
  installedAt?: string;
  bin?: string;
  notes?: string[];
  reason?: RegExp;
};

const CASES: [string, string, string[], Expect][] = [
  ["npx -y", "npx", ["-y", "@modelcontextprotocol/server-filesystem", "/a", "/b"], {
    kind: "npm",
    name: "@modelcontextprotocol/server-filesystem",
    args: ["/a", "/b"],
  }],
  ["npx pinned", "npx", ["-y", "@scope/pkg@1.2.3", "--flag"], {
    name: "@scope/pkg",
    version: "1.2.3",
    args: ["--flag"],
  }],
  ["npx latest", "npx", ["--yes", "tavily-mcp@latest"], { name: "tavily-mcp", wanted: "latest" }],
  ["npx range", "npx", ["pkg@^1.2"], { name: "pkg", wanted: "^1.2" }],
  ["npx prerelease", "npx", ["pkg@1.0.0-beta.2"], { version: "1.0.0-beta.2" }],
  ["npx --package", "npx", ["-y", "--package=@a/srv@2.0.0", "srv-bin", "x"], {
    name: "@a/srv",
    version: "2.0.0",
    bin: "srv-bin",
    args: ["x"],
  }],
  ["npx -p value", "npx", ["-p", "@a/srv", "srv-bin"], {
    name: "@a/srv",
    bin: "srv-bin",
    args: [],
  }],
  ["npx --loglevel value", "npx", ["--loglevel", "error", "-y", "@x/server@1.0.0"], {
    name: "@x/server",
    version: "1.0.0",
  }],
  ["npx unknown option", "npx", ["--frobnicate", "error", "-y", "@x/server@1.0.0"], {
    reason: /cannot tell which word is the package: .*unknown option --frobnicate/,
  }],
  ["windows npx.cmd", "C:\\Program Files\\nodejs\\npx.cmd", ["-y", "pkg"], { name: "pkg" }],
  ["npx path", "/usr/local/bin/npx", ["-y", "pkg@0.1.0"], { name: "pkg", version: "0.1.0" }],
  ["npm exec", "npm", ["exec", "--yes", "--", "@x/y@3.0.0", "a"], {
    name: "@x/y",
    version: "3.0.0",
    args: ["a"],
  }],
  ["npm x", "npm", ["x", "pkg"], { name: "pkg" }],
  ["pnpm dlx", "pnpm", ["dlx", "pkg@1.0.0"], { version: "1.0.0" }],
  ["bunx", "bunx", ["pkg"], { name: "pkg" }],
  ["npx local path", "npx", ["./server"], { reason: /not a registry package/ }],
  ["npx github", "npx", ["github:user/repo"], { reason: /not a registry package/ }],
  ["npx --call", "npx", ["-c", "echo hi"], { reason: /shell command/ }],
  ["npx nothing", "npx", ["-y"], { reason: /names no package/ }],
  ["node node_modules", "node", ["/usr/lib/node_modules/@scope/srv/dist/index.js", "--x"], {
    kind: "npm",
    name: "@scope/srv",
    args: ["--x"],
    installedAt: "/usr/lib/node_modules/@scope/srv",
  }],
  [
    "node windows",
    "node.exe",
    ["C:\\Users\\a\\AppData\\Roaming\\npm\\node_modules\\srv\\index.js"],
    {
      name: "srv",
      installedAt: "C:/Users/a/AppData/Roaming/npm/node_modules/srv",
    },
  ],
  ["node -r value", "node", ["-r", "dotenv/config", "/usr/lib/node_modules/srv/index.js"], {
    kind: "npm",
    name: "srv",
  }],
  ["node --max-old-space-size", "node", ["--max-old-space-size=4096", "/x/node_modules/srv/i.js"], {
    name: "srv",
  }],
  ["node unknown option", "node", ["--frob", "x", "/x/node_modules/srv/i.js"], {
    reason: /unknown option --frob/,
  }],
  ["node --eval", "node", ["-e", "require('x')"], { reason: /--eval/ }],
  ["node script", "node", ["/home/a/my-server/build/index.js"], {
    kind: "local",
    name: "/home/a/my-server/build/index.js",
  }],
  ["uvx", "uvx", ["mcp-server-time", "--local-timezone=Europe/Paris"], {
    kind: "pypi",
    name: "mcp-server-time",
    args: ["--local-timezone=Europe/Paris"],
  }],
  ["uvx ==", "uvx", ["mcp-server-time==2026.10.19"], { version: "2026.10.19" }],
  ["uvx @", "uvx", ["mcp-server-time@2026.10.19"], { version: "2026.10.19" }],
  ["uvx @latest", "uvx", ["mcp-server-time@latest"], { wanted: "latest" }],
  ["uvx range", "uvx", ["pkg>=1.0"], { name: "pkg", wanted: ">=1.0" }],
  [
    "uvx --from",
    "uvx",
    ["--from", "mcp-server-git==1.0.0", "mcp-server-git", "--repository", "/r"],
    {
      name: "mcp-server-git",
      version: "1.0.0",
      args: ["--repository", "/r"],
    },
  ],
  ["uvx --python", "uvx", ["--python", "3.12", "pkg"], { name: "pkg" }],
  ["uvx unknown option", "uvx", ["--frob", "3.12", "pkg"], { reason: /unknown option --frob/ }],
  ["uvx extras", "uvx", ["markitdown-mcp[all]==0.0.1"], {
    name: "markitdown-mcp",
    version: "0.0.1",
  }],
  ["uvx git", "uvx", ["--from", "git+https://github.com/a/b", "b"], { reason: /not a PyPI/ }],
  ["uv tool run", "uv", ["tool", "run", "pkg==1.0"], { name: "pkg", version: "1.0" }],
  ["pipx run", "pipx", ["run", "mcp-server-fetch"], { kind: "pypi", name: "mcp-server-fetch" }],
  ["pipx run --spec", "pipx", ["run", "--spec", "srv==2.0", "srv-cli", "x"], {
    name: "srv",
    version: "2.0",
    args: ["x"],
  }],
  ["pipx unknown option", "pipx", ["run", "--frob", "x", "pkg"], {
    reason: /unknown option --frob/,
  }],
  ["python -m", "python", ["-m", "mcp_server_time", "--x"], {
    kind: "pypi",
    name: "mcp-server-time",
    args: ["--x"],
  }],
  ["python3.11 -u -m", "python3.11", ["-u", "-m", "mcp_server_fetch"], {
    name: "mcp-server-fetch",
  }],
  ["python script", "python3", ["server.py"], { reason: /script/ }],
  ["deno npm", "deno", ["run", "-A", "npm:@x/srv@1.0.0", "a"], {
    kind: "npm",
    name: "@x/srv",
    version: "1.0.0",
    args: ["a"],
  }],
  ["deno jsr", "deno", ["run", "--allow-net", "jsr:@sandboxed/time@0.1.0"], {
    kind: "jsr",
    name: "@sandboxed/time",
    version: "0.1.0",
  }],
  ["deno config value", "deno", ["run", "--config", "deno.json", "./main.ts"], {
    kind: "local",
    name: "./main.ts",
  }],
  ["deno --env-file takes no next word", "deno", ["run", "--env-file", "jsr:@s/t@1.0.0"], {
    kind: "jsr",
    name: "@s/t",
  }],
  ["deno --inspect and --lock take no next word", "deno", [
    "run",
    "--inspect",
    "--lock",
    "-A",
    "--allow-read=/a",
    "npm:@x/srv@1.0.0",
  ], { name: "@x/srv", version: "1.0.0" }],
  ["deno unknown option", "deno", ["run", "--frob", "x", "main.ts"], {
    reason: /unknown option --frob/,
  }],
  ["deno url", "deno", ["run", "https://example.com/s.ts"], { reason: /URL/ }],
  ["docker run", "docker", ["run", "-i", "--rm", "-e", "TOKEN", "-e", "TZ=UTC", "mcp/time"], {
    kind: "oci",
    name: "mcp/time",
    wanted: "latest",
    passEnv: ["TOKEN"],
    env: { TZ: "UTC" },
  }],
  ["docker tag", "docker", ["run", "--rm", "-i", "docker.io/mcp/time:1.0", "--x"], {
    name: "mcp/time",
    wanted: "1.0",
    args: ["--x"],
  }],
  ["docker digest", "docker", ["run", "-i", `ghcr.io/a/b@sha256:${"a".repeat(64)}`], {
    name: "ghcr.io/a/b",
    version: `sha256:${"a".repeat(64)}`,
  }],
  ["docker registry port", "docker", ["run", "-i", "localhost:5000/srv"], {
    name: "localhost:5000/srv",
    wanted: "latest",
  }],
  ["docker options with values", "docker", [
    "run",
    "-i",
    "-v",
    "/a:/a",
    "--network=none",
    "--name",
    "x",
    "img:2",
  ], { name: "img", wanted: "2" }],
  ["docker -a stdin", "docker", ["run", "-i", "--rm", "-a", "stdin", "img:1"], {
    name: "img",
    wanted: "1",
  }],
  ["docker --shm-size", "docker", ["run", "-it", "--shm-size", "1g", "img:1"], { name: "img" }],
  ["docker unknown option", "docker", ["run", "--frob", "x", "img:1"], {
    reason: /unknown option --frob/,
  }],
  ["docker -v and --env-file are noted", "docker", [
    "run",
    "-i",
    "-v",
    "/a:/a",
    "--env-file=/e.env",
    "img:1",
  ], {
    notes: [
      "docker run -v /a:/a is not carried over: the manifest decides which folders the server may use",
      "docker run --env-file /e.env is not carried over: the manifest decides the server's " +
      "environment, and the file is not read",
    ],
  }],
  ["docker entrypoint", "docker", ["run", "--entrypoint", "sh", "img"], { reason: /entrypoint/ }],
  ["docker exec", "docker", ["exec", "c", "x"], { reason: /not docker run/ }],
  ["shell", "bash", ["-c", "npx -y srv"], { reason: /shell/ }],
  ["unknown", "/opt/bin/my-server", ["--stdio"], { reason: /unknown command/ }],
];

for (const [label, command, args, want] of CASES) {
  Deno.test(`recogniseCommand() recognises ${label}`, () => {
    const found = recogniseCommand({ command, args, env: {} });
    if (want.reason) {
      assert.equal(found.adoptable, false, JSON.stringify(found));
      assert.match((found as { reason: string }).reason, want.reason);
      return;
    }
    assert.ok(found.adoptable, JSON.stringify(found));
    const pkg = found.package;
    for (const key of Object.keys(want) as (keyof Expect)[]) {
      assert.deepEqual(pkg[key as keyof typeof pkg], want[key], `${label}: ${key}`);
    }
  });
}

Deno.test("recogniseEntry() leaves HTTP, SSE and URL entries with the reason", () => {
  for (
    const [entry, client] of [
      [{ url: "https://api.example.com/mcp" }, "cursor"],
      [{ type: "http", url: "https://x/mcp" }, "vscode"],
      [{ serverUrl: "https://x/sse" }, "windsurf"],
      [{ type: "sse", uri: "https://x/sse" }, "goose"],
    ] as const
  ) {
    const found = recogniseEntry(entry, client);
    assert.equal(found.adoptable, false);
    assert.match((found as { reason: string }).reason, /remote .*runs elsewhere/);
  }
});

Deno.test("recogniseEntry() reads goose's cmd and envs, and Zed's older command object", () => {
  const goose = recogniseEntry(
    { cmd: "uvx", args: ["mcp-server-time"], envs: { TZ: "UTC" }, type: "stdio" },
    "goose",
  );
  assert.ok(goose.adoptable && goose.package.name === "mcp-server-time");
  assert.deepEqual(goose.adoptable && goose.package.env, { TZ: "UTC" });
  const zed = recogniseEntry(
    { command: { path: "npx", args: ["-y", "srv"], env: { A: "1" } } },
    "zed",
  );
  assert.ok(zed.adoptable && zed.package.name === "srv");
});

Deno.test("recogniseEntry() leaves mcp-run's own, disabled and malformed entries", () => {
  const cases: [unknown, RegExp][] = [
    [{ command: "deno", args: [], env: { MCP_RUN_MANAGED: "1" } }, /already runs/],
    [{ command: "npx", args: ["srv"], enabled: false }, /disabled/],
    [{ type: "builtin", name: "developer", bundled: true }, /builtin extension/],
    [{ command: "npx", args: "srv" }, /not a list/],
    [{ args: ["x"] }, /no command/],
    ["npx", /not an object/],
    [{ command: "npx", args: [], env: [] }, /not a map/],
  ];
  for (const [entry, reason] of cases) {
    const found = recogniseEntry(entry, "cursor");
    assert.equal(found.adoptable, false, JSON.stringify(entry));
    assert.match((found as { reason: string }).reason, reason);
  }
});
