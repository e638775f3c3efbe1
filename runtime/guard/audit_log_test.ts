import assert from "node:assert/strict";
import { join } from "node:path";
import { type AuditRecord, openAuditLog } from "./audit_log.ts";
import { errorAnswer, Guard, GuardErrorCode } from "./guard.ts";
import type { Exchange, GuardContext, GuardStage, Message } from "./stage.ts";

function context(session: string): GuardContext {
  return {
    server: "fixture",
    session,
    clientInit: undefined,
    serverInit: { protocolVersion: "2025-06-18" },
    request: () => Promise.reject(new Error("no server")),
    toClient: () => {},
    toServer: () => {},
    stopServer: () => {},
    log: () => {},
  };
}

function exchange(id: number, text = "hi"): Exchange {
  return {
    request: {
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "echo", arguments: { text } },
    },
    response: { jsonrpc: "2.0", id, result: { content: [{ type: "text", text }] } },
    startedAt: Date.now(),
    durationMs: 1,
    requestBytes: 80,
    responseBytes: 90,
    answeredBy: "server",
  };
}

function readLines(file: string): AuditRecord[] {
  return Deno.readTextFileSync(file).trimEnd().split("\n").map((l) => JSON.parse(l));
}

Deno.test("openAuditLog() appends one whole line per request from every session, mode 0600", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "audit.jsonl");
    Deno.writeTextFileSync(file, '{"earlier":true}\n', { mode: 0o600 });
    const log = (await openAuditLog({ file, server: "fixture" }))!;
    const a = log.stage();
    const b = log.stage();
    for (let i = 0; i < 500; i++) {
      a.answered!(exchange(i, "a".repeat(3000)), context("A"));
      b.answered!(exchange(i, "b".repeat(3000)), context("B"));
    }
    await log.close();
    const lines = readLines(file);
    assert.equal(lines.length, 1001);
    assert.deepEqual(lines[0], { earlier: true });
    assert.equal(lines.filter((l) => l.session === "A").length, 500);
    assert.equal(lines.filter((l) => l.session === "B").length, 500);
    assert.ok(lines.slice(1).every((l) => l.tool === "echo" && l.arguments === undefined));
    const fresh = join(dir, "new.jsonl");
    await (await openAuditLog({ file: fresh, server: "fixture" }))!.close();
    assert.equal(Deno.statSync(fresh).mode! & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openAuditLog() refuses a folder, a device, a missing folder and the server's grants", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  try {
    const granted = join(dir, "granted");
    Deno.mkdirSync(granted);
    const cases: [string, RegExp][] = [
      [dir, /it is not a regular file/],
      ["/dev/null", /it is not a regular file/],
      [join(dir, "missing", "audit.jsonl"), /its folder does not exist/],
      [join(granted, "audit.jsonl"), /the server may access ".*granted"/],
      [join(granted, "deeper", "..", "audit.jsonl"), /the server may access/],
    ];
    for (const [file, message] of cases) {
      await assert.rejects(
        () => openAuditLog({ file, server: "fixture", serverPaths: [granted] }),
        message,
        file,
      );
    }
    // A link in the server's folder that points outside it is judged by where it points.
    Deno.symlinkSync(granted, join(dir, "link"));
    await assert.rejects(
      () =>
        openAuditLog({
          file: join(dir, "link", "a.jsonl"),
          server: "fixture",
          serverPaths: [granted],
        }),
      /the server may access/,
    );
    assert.equal(await openAuditLog({ server: "fixture" }), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("AuditLog.record() never throws and keeps going after a failure", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "audit.jsonl");
    const notices: string[] = [];
    const log = (await openAuditLog({ file, server: "fixture", log: (l) => notices.push(l) }))!;
    const broken = { ...exchange(1), startedAt: NaN };
    log.record(broken, context("A"));
    log.record(exchange(2), context("A"));
    await log.close();
    assert.equal(readLines(file).length, 1);
    assert.equal(notices.length, 1);
    assert.match(notices[0], /cannot record a request in the audit log/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("AuditLog.stage() in a Guard records a refused call with the stage that refused it", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "audit.jsonl");
    const log = (await openAuditLog({ file, server: "fixture", content: true }))!;
    const refuse: GuardStage = {
      name: "filter",
      fromClient: (message) =>
        message.method === "tools/call" && message.params?.name === "delete_all"
          ? { reply: errorAnswer(message.id!, GuardErrorCode.Refused, "delete_all is excluded") }
          : { pass: message },
    };
    const toServer: Message[] = [];
    const guard = new Guard([refuse, log.stage()], {
      toClient: () => {},
      toServer: (m) => void toServer.push(m),
      stopServer: () => {},
      log: () => {},
    }, { server: "fixture", session: "S" });
    const call = (id: number, name: string) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: { password: "hunter2", path: "/x" } },
    });
    await guard.fromClient(call(1, "delete_all"));
    await guard.fromClient(call(2, "read"));
    await guard.fromServer({ jsonrpc: "2.0", id: 2, result: { content: [] } });
    await guard.close("done");
    await log.close();
    const [refused, passed] = readLines(file);
    assert.equal(toServer.length, 1, "the refused call never reached the server");
    assert.equal(refused.outcome, "refused-by-filter");
    assert.equal(refused.answeredBy, "filter");
    assert.deepEqual(refused.error, { code: -32600, message: "delete_all is excluded" });
    assert.deepEqual(refused.arguments, { password: "[masked]", path: "/x" });
    assert.equal(passed.outcome, "ok");
    assert.equal(passed.session, "S");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("AuditLog.stage() records server requests, list changes and cancellations, bounded", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "audit.jsonl");
    const log = (await openAuditLog({ file, server: "fixture", content: true }))!;
    const guard = new Guard([log.stage()], {
      toClient: () => {},
      toServer: () => {},
      stopServer: () => {},
      log: () => {},
    }, { server: "fixture", session: "S" });
    await guard.fromServer({
      jsonrpc: "2.0",
      id: "s1",
      method: "sampling/createMessage",
      params: { messages: [{ role: "user", content: { type: "text", text: "summarize ~/.ssh" } }] },
    });
    await guard.fromServer({ jsonrpc: "2.0", method: "notifications/message", params: {} });
    await guard.fromClient({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 4 },
    });
    for (let i = 0; i < 1200; i++) {
      await guard.fromServer({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
    }
    await guard.close("done");
    await log.close();
    const lines = readLines(file) as unknown as Record<string, unknown>[];
    assert.deepEqual(
      { ...lines[0], time: undefined, bytes: undefined },
      {
        time: undefined,
        session: "S",
        server: "fixture",
        from: "server",
        event: "request",
        method: "sampling/createMessage",
        id: "s1",
        bytes: undefined,
        params: {
          messages: [{ role: "user", content: { type: "text", text: "summarize ~/.ssh" } }],
        },
      },
    );
    assert.equal(lines[1].method, "notifications/cancelled");
    assert.equal(lines[1].from, "client");
    assert.ok(!lines.some((l) => l.method === "notifications/message"));
    assert.equal(lines.filter((l) => l.method === "notifications/tools/list_changed").length, 998);
    assert.deepEqual(lines.at(-1)!.unrecordedEvents, 202);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openAuditLog() warns when a file others may read is to hold content", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = join(dir, "audit.jsonl");
    Deno.writeTextFileSync(file, "");
    Deno.chmodSync(file, 0o644);
    const notices: string[] = [];
    const log = (l: string) => notices.push(l);
    await (await openAuditLog({ file, server: "fixture", log }))!.close();
    assert.deepEqual(notices, []);
    await (await openAuditLog({ file, server: "fixture", log, content: true }))!.close();
    assert.equal(notices.length, 1);
    assert.match(notices[0], /is readable by others \(mode 644\).*chmod 600/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
