/**
 * The audit log end to end: the real MCP SDK client through `mcp-run run` and `mcp-run serve`
 * (natively and in docker), a fixture server that answers, floods, hangs and returns a huge
 * result, the JSONL file and an OTLP collector stand-in on loopback. Canaries: a plain argument's
 * value (in the log only with --audit-content: the positive control) and a secret-looking one's
 * (never in the log).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cli, initializeRequest, tempDir } from "./_helpers.ts";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import {
  auditLines,
  canaries,
  checkExercised,
  checkSpans,
  cliEnv,
  collected,
  connectRun,
  connectServe,
  exercise,
  MANIFEST,
  spanAttributes,
  startCollector,
} from "./_audit_helpers.ts";
import { ROOT } from "./_helpers.ts";
import { guardArgs } from "../runtime/cli/guard_flags.ts";

const problem = await dockerProblem("audit_log_test.ts: docker tests skipping");

/** A folder outside /tmp (a container's HOME is a tmpfs at /tmp), writable by its user. */
function workDir(): string {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-audit-" });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** Runs the fixture through `mcp-run run`, exercises it, and checks the file and the spans. */
async function auditedRun(options: { content: boolean; docker?: boolean }): Promise<void> {
  const work = workDir();
  const collector = startCollector();
  try {
    const file = join(work, "audit.jsonl");
    const canary = canaries();
    const args = [
      "--audit",
      file,
      ...(options.content ? ["--audit-content"] : []),
      // Long enough for the huge answer and the flood in a loaded container; "hang" waits it out.
      "--request-timeout",
      "10",
      ...["--exclude-tools", "wipe"],
      ...(options.docker ? CLI_DOCKER : []),
    ];
    const { client, stderr } = await connectRun(args, cliEnv(join(work, "cache"), collector));
    try {
      await exercise(client, canary);
      // Answered by the guard itself: an error, not a refusal.
      await assert.rejects(
        () => client.callTool({ name: "hang", arguments: {} }),
        /did not answer/,
      );
    } finally {
      await client.close();
    }
    const lines = await auditLines(file, 12);
    const { records } = lines;
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    const session = records[0].session;
    assert.ok(records.every((r) => r.session === session), stderr());
    assert.deepEqual(records[0].method, "initialize");
    checkExercised(lines, canary, options);
    const hang = records.find((r) => r.tool === "hang")!;
    assert.equal(hang.outcome, "error");
    assert.equal(hang.answeredBy, "mcp-run");
    assert.equal(hang.error?.code, -32001);
    const spans = await collected(collector, records.length);
    assert.equal(spans.length, records.length);
    checkSpans(spans, canary, options.content);
    assert.ok(spans.every((s) => spanAttributes(s)["mcp.session.id"] === session));
  } finally {
    await collector.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "mcp-run run --audit --audit-content records bounded lines and spans, secrets masked",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedRun({ content: true }),
});

Deno.test({
  name: "mcp-run run --audit without --audit-content leaves arguments and results out",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedRun({ content: false }),
});

Deno.test({
  name: "mcp-run run --isolation docker --audit records the same from the launcher",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedRun({ content: true, docker: true }),
});

/**
 * Calls that put secrets where no field name says so (a URL's password and query, a token-shaped
 * value under an innocent name) and error text that is the server's content; checks the file and
 * the spans for the canaries, and for the plain value (the positive control) only with content.
 */
async function auditedSecrets(content: boolean): Promise<void> {
  const work = workDir();
  const collector = startCollector();
  try {
    const file = join(work, "audit.jsonl");
    const id = crypto.randomUUID().replaceAll("-", "");
    const secrets = [`pw${id}`, `tk${id}`, `ghp_${id}abcd`, `AKIA${id.slice(0, 16).toUpperCase()}`];
    const plain = `PLAIN-${id}`;
    const failed = [`OOPS-${id}`, `FAIL-${id}`];
    const target = `postgres://ada:${secrets[0]}@db.example/app?token=${secrets[1]}&mode=ro`;
    const args = ["--audit", file, ...(content ? ["--audit-content"] : [])];
    const { client } = await connectRun(args, cliEnv(join(work, "cache"), collector));
    try {
      const lookup = await client.callTool({
        name: "lookup",
        arguments: { target, ref: `${secrets[2]} ${secrets[3]}`, note: plain },
      });
      assert.match(JSON.stringify(lookup.content), new RegExp(secrets[0]));
      const oops = await client.callTool({ name: "oops", arguments: { text: failed[0] } });
      assert.equal(oops.isError, true);
      await assert.rejects(
        () => client.callTool({ name: "fail", arguments: { text: failed[1] } }),
        /bad arguments/,
      );
    } finally {
      await client.close();
    }
    const { records } = await auditLines(file, 4);
    const spans = await collected(collector, records.length);
    const written = [Deno.readTextFileSync(file), collector.bodies.join("\n")];
    for (const text of written) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      for (const value of [plain, ...failed]) assert.equal(text.includes(value), content, value);
    }
    assert.equal(records.find((r) => r.tool === "oops")?.outcome, "tool-error");
    assert.equal(records.find((r) => r.tool === "fail")?.error?.code, -32602);
    assert.equal(spans.find((s) => s.name === "tools/call oops")?.status.code, 2);
    if (content) {
      const lookup = records.find((r) => r.tool === "lookup")!;
      assert.equal(
        (lookup.arguments as Record<string, unknown>).target,
        "postgres://ada:[masked]@db.example/app?token=[masked]&mode=ro",
      );
      assert.match(JSON.stringify(lookup.result), /"uri":"postgres:\/\/ada:\[masked\]@db\.example/);
    }
  } finally {
    await collector.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "mcp-run run --audit-content masks URL credentials and token-shaped values everywhere",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedSecrets(true),
});

Deno.test({
  name: "mcp-run run --audit keeps a tool's error text and a server's error message out",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedSecrets(false),
});

Deno.test("mcp-run run refuses a bad --audit path before the server starts", async () => {
  const work = tempDir("mcp-run-audit-usage-");
  try {
    const env = cliEnv(join(work, "cache"));
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--audit", work], {}, /it is not a regular file/],
      [["--audit", "/dev/stdout"], {}, /it is not a regular file/],
      [["--audit", join(work, "missing", "a.jsonl")], {}, /its folder does not exist/],
      [["--audit-content"], {}, /--audit-content needs --audit FILE/],
      // An endpoint meant for another exporter gives no spans, and no log to put content in.
      [
        ["--audit-content"],
        { OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4317" },
        /--audit-content needs --audit FILE/,
      ],
    ];
    for (const [args, extra, message] of cases) {
      const r = await cli(["run", MANIFEST, ...args], { env: { ...env, ...extra }, stdin: "" });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
      // Refused before anything was fetched or started.
      assert.doesNotMatch(r.stderr, /Pulling/);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("mcp-run run says a bad OTLP endpoint and runs on, writing the file", async () => {
  const work = tempDir("mcp-run-audit-otlp-");
  try {
    const file = join(work, "a.jsonl");
    const stdin = JSON.stringify(initializeRequest(1, { name: "t", version: "1" })) + "\n";
    const r = await cli(["run", MANIFEST, "--audit", file], {
      env: { ...cliEnv(join(work, "cache")), OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4317" },
      stdin,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL, got "localhost:4317"; no spans are sent/,
    );
    assert.match(r.stdout, /audit-fixture/);
    const { records } = await auditLines(file, 1);
    assert.equal(records[0].method, "initialize");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

/** Starts `mcp-run serve <fixture> …args` and waits for its URL. */
async function startServe(args: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, "serve", MANIFEST, "--port", "0", ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const deadline = Date.now() + 120_000;
  let url: string | undefined;
  while ((url = /on (http:\/\/\S+)/.exec(text)?.[1]) === undefined) {
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url, pump, stderr: () => text };
}

async function auditedServe(options: { docker?: boolean }): Promise<void> {
  const work = workDir();
  const collector = startCollector();
  try {
    const file = join(work, "audit.jsonl");
    const canary = canaries();
    const served = await startServe(
      [
        ...["--audit", file, "--audit-content", "--exclude-tools", "wipe"],
        ...(options.docker ? CLI_DOCKER : []),
      ],
      cliEnv(join(work, "cache"), collector),
    );
    try {
      // Two sessions at once, each its own process, one log.
      const [a, b] = await Promise.all([connectServe(served.url), connectServe(served.url)]);
      await Promise.all([exercise(a, canary), exercise(b, canary)]);
      await Promise.all([a.close(), b.close()]);
    } finally {
      served.child.kill("SIGTERM");
      await served.child.status;
      await served.pump.catch(() => {});
    }
    const { records, events } = await auditLines(file, 22);
    const sessions = [...new Set(records.map((r) => r.session))];
    assert.equal(sessions.length, 2, served.stderr());
    for (const session of sessions) {
      const own = {
        records: records.filter((r) => r.session === session),
        events: events.filter((e) => e.session === session),
      };
      checkExercised(own, canary, { content: true });
      checkSpans(
        collector.spans.filter((s) => spanAttributes(s)["mcp.session.id"] === session),
        canary,
        true,
        "tcp",
      );
    }
  } finally {
    await collector.close();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "mcp-run serve --audit records every session's requests in one file and as spans",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedServe({}),
});

Deno.test({
  name: "mcp-run serve --isolation docker --audit records every session's requests",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => auditedServe({ docker: true }),
});

Deno.test({
  name: "mcp-run install --form launcher --audit writes an entry whose runs keep the log",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = tempDir("mcp-run-audit-launcher-");
    try {
      const file = join(work, "audit.jsonl");
      const config = join(work, "mcp.json");
      const env = cliEnv(join(work, "cache"));
      const r = await cli([
        ...["install", MANIFEST, "--client", "cursor", "--file", config, "--form", "launcher"],
        ...["--audit", file, "--audit-content"],
      ], { env });
      assert.equal(r.code, 0, r.stderr);
      const entry = JSON.parse(Deno.readTextFileSync(config)).mcpServers["audit-fixture"];
      assert.deepEqual(entry.args.slice(entry.args.indexOf("--audit")), [
        "--audit",
        file,
        "--audit-content",
      ]);
      const transport = new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: { ...env, ...entry.env },
        stderr: "pipe",
      });
      const client = new Client({ name: "audit-test", version: "1.0.0" });
      const canary = canaries();
      try {
        await client.connect(transport);
        await client.callTool({
          name: "echo",
          arguments: { text: canary.plain, api_token: canary.secret },
        });
      } finally {
        await client.close();
      }
      const { records } = await auditLines(file, 2);
      const echo = records.find((r) => r.tool === "echo")!;
      assert.deepEqual(echo.arguments, { text: canary.plain, api_token: "[masked]" });
      assert.ok(!Deno.readTextFileSync(file).includes(canary.secret));
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("guardArgs() passes the audit options on, the file as an absolute path", () => {
  assert.deepEqual(guardArgs({ audit: "logs/a.jsonl", "audit-content": true }), [
    ...["--audit", join(Deno.cwd(), "logs", "a.jsonl"), "--audit-content"],
  ]);
  assert.deepEqual(guardArgs({ audit: "/var/log/a.jsonl" }), ["--audit", "/var/log/a.jsonl"]);
  assert.throws(() => guardArgs({ "audit-content": true }), /--audit-content needs --audit FILE/);
});

Deno.test("mcp-run config --audit needs the launcher form, which alone sees the messages", async () => {
  const r = await cli(["config", MANIFEST, "--audit", "/var/log/a.jsonl"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--audit needs --form launcher/);
});
