/**
 * Exact blocked-access reports, end to end with real Deno: a fixture server reaches for a
 * config file, a token, the home folder, an API, a file outside its folder and a native library;
 * `run` writes one stderr line per refused access, `inspect`/`call` print them, `denials` lists
 * the last run's. Forged records on the server's stderr are not taken for Deno's; the same
 * fixture with everything granted (the positive control) reports nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, initializeRequest, ROOT, tempDir } from "./_helpers.ts";

const FIXTURE = join(ROOT, "tests", "testdata", "denials");
const MANIFEST = join(FIXTURE, "manifest.jsonc");
const GRANTED = join(FIXTURE, "granted.jsonc");
const PREFIX = "mcp-run: denials-fixture was refused ";

/** A scene: a cache, the server's own folder, a home-like folder with a config file. */
function scene() {
  const work = tempDir("mcp-run-denials-");
  const own = join(work, "own");
  const config = join(work, "home", ".config", "foo", "settings.json");
  Deno.mkdirSync(own);
  Deno.mkdirSync(join(work, "home", ".config", "foo"), { recursive: true });
  Deno.writeTextFileSync(config, "canary-config\n");
  return { work, own, config, cache: join(work, "cache"), outside: join(work, "home", "out.txt") };
}

function env(cache: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache, ...extra };
}

/** An initialize request, then EOF: the fixture makes its attempts and answers. */
const STDIN = JSON.stringify(initializeRequest(1, { name: "t", version: "1" })) + "\n";

/** The per-launch folders left in the cache's audit folder (its spare FIFO aside). */
function launchFolders(cache: string): string[] {
  return [...Deno.readDirSync(join(cache, "audit"))].filter((e) => e.name !== "spare")
    .map((e) => e.name);
}

/** The fixture's parameters: its own folder granted, the rest of what it reaches for not. */
function refusedParams(s: ReturnType<typeof scene>): string[] {
  return [
    "-p",
    `dir=${s.own}`,
    "-p",
    `config=${s.config}`,
    "-p",
    `outside=${s.outside}`,
    "-p",
    "target=api.example.com:443",
  ];
}

function refusedLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("mcp-run: ") && l.includes(" was refused "));
}

Deno.test("mcp-run run writes one exact stderr line per refused access, from Deno's records", async () => {
  const s = scene();
  const params = refusedParams(s);
  const run = await cli(["run", MANIFEST, ...params, "--", "ffi"], {
    env: env(s.cache),
    stdin: STDIN,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /denials-fixture/);
  assert.deepEqual(refusedLines(run.stderr), [
    `${PREFIX}read ${s.config}: to allow it, "read": [${JSON.stringify(s.config)}]`,
    `${PREFIX}env FOO_TOKEN: to allow it, "secrets": { "FOO_TOKEN": { "description": "…", ` +
    `"required": false } }`,
    `${PREFIX}sys homedir: to allow it, "sys": ["homedir"]`,
    `${PREFIX}net api.example.com:443: to allow it, "net": ["api.example.com:443"]`,
    `${PREFIX}write ${s.outside}: to allow it, "write": [${JSON.stringify(s.outside)}]`,
    `${PREFIX}ffi libfixture.so: it can never be granted: ffi is allowed only in a container ` +
    "with an explicit trust decision (--isolation docker --trust or --isolation gvisor --trust), " +
    "never in native mode",
  ]);
  // The forged record the server printed is passed on as its stderr, never taken for Deno's.
  assert.match(run.stderr, /FORGED_NAME/);
  assert.equal(Deno.readTextFileSync(s.config), "canary-config\n");
  assert.throws(() => Deno.statSync(s.outside), Deno.errors.NotFound);
  // The FIFO and its folder are gone.
  assert.deepEqual(launchFolders(s.cache), []);

  const listed = await cli(["denials", MANIFEST], { env: env(s.cache) });
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trim().split("\n");
  assert.match(lines[0], /^denials-fixture: the last run \(run, \d{4}-.*\)$/);
  assert.equal(lines[1], "Refused (6):");
  assert.equal(
    lines[3],
    `  env FOO_TOKEN: to allow it, "secrets": { "FOO_TOKEN": { "description": "…", "required": false } }`,
  );
  assert.ok(!listed.stdout.includes("FORGED"), listed.stdout);
  const json = await cli(["denials", "denials-fixture", "--format", "json"], { env: env(s.cache) });
  const record = JSON.parse(json.stdout);
  assert.deepEqual(
    record.denials.map((d: { asked: string }) => d.asked),
    [
      `read ${s.config}`,
      "env FOO_TOKEN",
      "sys homedir",
      "net api.example.com:443",
      `write ${s.outside}`,
      "ffi libfixture.so",
    ],
  );
  // A refused fetch is recorded by Deno as its URL and as host:port: one denial, counted once.
  assert.equal(record.denials[3].count, 1);
});

Deno.test("mcp-run run gives no exact line for a relative path the server reads after a chdir", async () => {
  const s = scene();
  const granted = join(s.own, "settings.json");
  Deno.writeTextFileSync(granted, "{}");
  const params = refusedParams(s).map((p) => p === `config=${s.config}` ? `config=${granted}` : p);
  const run = await cli(["run", MANIFEST, ...params, "--", "chdir"], {
    env: env(s.cache),
    stdin: STDIN,
  });
  assert.equal(run.code, 0, run.stderr);
  const lines = refusedLines(run.stderr);
  const relative = lines.filter((l) => l.startsWith(`${PREFIX}read settings.json`));
  // Deno granted it (its folder is granted), yet records only "settings.json": the report may
  // not advise granting that name.
  assert.equal(relative.length, 1, run.stderr);
  assert.match(
    relative[0],
    /: no exact change can be given: a relative path: Deno resolves "settings\.json" against /,
  );
  assert.ok(!run.stderr.includes('"read": ["settings.json"]'), run.stderr);
});

Deno.test("mcp-run run reports nothing when everything the fixture reaches for is granted", async () => {
  const s = scene();
  let requests = 0;
  const listener = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response("ok");
  });
  try {
    const target = `127.0.0.1:${listener.addr.port}`;
    const params = [
      "-p",
      `dir=${s.own}`,
      "-p",
      `config=${join(s.own, "settings.json")}`,
      "-p",
      `outside=${join(s.own, "out.txt")}`,
      "-p",
      `target=${target}`,
    ];
    Deno.writeTextFileSync(join(s.own, "settings.json"), "{}");
    const run = await cli(["run", GRANTED, ...params], {
      env: env(s.cache, { FOO_TOKEN: "t" }),
      stdin: STDIN,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(refusedLines(run.stderr), []);
    // The canaries fired: the request arrived and the file was written.
    assert.equal(requests, 1);
    assert.equal(Deno.readTextFileSync(join(s.own, "out.txt")), "x");
    const listed = await cli(["denials", "denials-granted"], { env: env(s.cache) });
    assert.match(listed.stdout, /^denials-granted: the last run \(run, .*\) was refused nothing$/m);
  } finally {
    await listener.shutdown();
  }
});

Deno.test("mcp-run denials says when no run was recorded", async () => {
  const s = scene();
  const listed = await cli(["denials", "denials-fixture"], { env: env(s.cache) });
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout.trim(), "denials-fixture: no run recorded");
});

Deno.test("mcp-run inspect and call print the refused accesses after their output", async () => {
  const s = scene();
  const params = refusedParams(s);
  const inspect = await cli(["inspect", MANIFEST, ...params], { env: env(s.cache) });
  assert.equal(inspect.code, 0, inspect.stderr);
  const text = inspect.stdout.split("\nRefused (5):\n");
  assert.equal(text.length, 2, inspect.stdout);
  assert.match(text[0], /Tools \(1\):\n {2}peek/);
  assert.ok(text[1].startsWith(`  read ${s.config}: to allow it, "read": [`), text[1]);

  const json = await cli(["inspect", MANIFEST, ...params, "--format", "json"], {
    env: env(s.cache),
  });
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.tools[0].name, "peek");
  assert.equal(parsed.denials.length, 5);
  assert.equal(parsed.denials[2].allow, '"sys": ["homedir"]');

  const call = await cli(["call", MANIFEST, "peek", '{"path":"/etc/hostname"}', ...params], {
    env: env(s.cache),
  });
  assert.equal(call.code, 0, call.stderr);
  // The tool's output alone on stdout; the refusals after it, on stderr.
  assert.equal(call.stdout, "could not read: NotCapable\n");
  const [, refused] = call.stderr.split("Refused (6):\n");
  assert.ok(
    refused.includes(
      `  read /etc/hostname: to allow it, "read": ["/etc/hostname"]`,
    ),
    refused,
  );
  const callJson = await cli(
    ["call", MANIFEST, "peek", '{"path":"/etc/hostname"}', ...params, "--format", "json"],
    { env: env(s.cache) },
  );
  assert.equal(callJson.code, 0, callJson.stderr);
  const result = JSON.parse(callJson.stdout);
  assert.equal(result.content[0].text, "could not read: NotCapable");
  assert.equal(result.denials.at(-1).asked, "read /etc/hostname");
  const listed = await cli(["denials", MANIFEST, "--format", "json"], { env: env(s.cache) });
  assert.equal(JSON.parse(listed.stdout).command, "call");
});

Deno.test("mcp-run serve reports each session's refused accesses and stores the last one's", async () => {
  const s = scene();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(ROOT, "mod.ts"),
      "serve",
      MANIFEST,
      "--port",
      "0",
      ...refusedParams(s),
    ],
    env: env(s.cache),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void stderr.push(text) }),
  );
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (let i = 0; i < 300; i++) {
      const match = stderr.join("").match(pattern);
      if (match) return match;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${pattern} in: ${stderr.join("")}`);
  };
  try {
    const [, url] = await waitFor(/on (http:\/\/\S+\/mcp)/);
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify(initializeRequest(1, { name: "t", version: "1" })),
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    await waitFor(/was refused sys homedir/);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
  }
  assert.equal(refusedLines(stderr.join("")).length, 5, stderr.join(""));
  const listed = await cli(["denials", "denials-fixture", "--format", "json"], {
    env: env(s.cache),
  });
  const record = JSON.parse(listed.stdout);
  assert.equal(record.command, "serve");
  assert.equal(record.denials.length, 5);
});

Deno.test("mcp-run run refuses a server's write into the audit folder, as never grantable", async () => {
  const s = scene();
  // The fixture writes where the launcher keeps its audit FIFOs (and reads a FIFO it guesses).
  const forged = join(s.cache, "audit", "forged", "checks");
  const params = [
    "-p",
    `dir=${s.own}`,
    "-p",
    `config=${join(s.cache, "audit")}`,
    "-p",
    `outside=${forged}`,
    "-p",
    "target=api.example.com:443",
  ];
  const run = await cli(["run", MANIFEST, ...params], { env: env(s.cache), stdin: STDIN });
  assert.equal(run.code, 0, run.stderr);
  const lines = refusedLines(run.stderr);
  const never =
    "it can never be granted: it holds mcp-run's code cache, which servers must never " +
    "change";
  assert.ok(lines.includes(`${PREFIX}read ${join(s.cache, "audit")}: ${never}`), lines.join("\n"));
  assert.ok(lines.includes(`${PREFIX}write ${forged}: ${never}`), lines.join("\n"));
  assert.throws(() => Deno.statSync(forged), Deno.errors.NotFound);
  // The fixture did run its attempts (the same write into its own folder succeeds in the
  // granted test above): the rest is still reported.
  assert.ok(lines.some((l) => l.startsWith(`${PREFIX}sys homedir: to allow it`)));
});
