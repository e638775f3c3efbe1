// End-to-end tests of both protocol generations through `mcp-run serve` (the real CLI, a
// subprocess) over loopback HTTP: the v1 SDK client (2025-11-25, sessions), the v2 SDK client
// (2026-07-28, stateless), and a GET stream cut and resumed with Last-Event-ID.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";
import { callText, connectClient } from "./_bridge_helpers.ts";
import { connectModernClient, modernCallText } from "./_modern_client.ts";
import { startServe } from "./_serve_cli.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const cache = tempDir("mcp-run-serve-protocol-cache-");
const TOKEN = "serve-protocol-token-0123456789abcdef";

/** A token file (mode 600) holding {@linkcode TOKEN}. */
function tokenFile(): string {
  const file = join(tempDir(), "token");
  Deno.writeTextFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  Deno.chmodSync(file, 0o600);
  return file;
}

async function withServe(args: string[], body: (url: string) => Promise<void>): Promise<void> {
  const served = await startServe([MANIFEST, "--port", "0", "--cache", cache, ...args]);
  try {
    await body(served.url);
  } finally {
    served.child.kill("SIGTERM");
    const status = await served.child.status;
    assert.equal(status.code, 0, served.stderr());
  }
}

Deno.test("mcp-run serve answers the v1 client with a session and the v2 client statelessly", async () => {
  // With a token, a v2 client's requests and subscriptions share its principal's process.
  await withServe(["--token-file", tokenFile()], async (url) => {
    const legacy = await connectClient({ url, token: TOKEN });
    const modern = await connectModernClient({ url, token: TOKEN });
    const probing = await connectModernClient({ url, negotiation: "auto", token: TOKEN });
    try {
      assert.equal(await callText(legacy.client, "echo", { text: "v1" }), "v1");
      assert.equal(modern.getNegotiatedProtocolVersion(), "2026-07-28");
      assert.equal(await modernCallText(modern, "echo", { text: "v2" }), "v2");
      assert.equal(probing.getNegotiatedProtocolVersion(), "2026-07-28");
      assert.equal(await modernCallText(probing, "echo", { text: "auto" }), "auto");
      // The sandboxed process behind a stateless request gets no header and no environment.
      const seen = await modernCallText(modern, "observe");
      assert.doesNotMatch(seen, /modern-test|HOME|PATH/);
      assert.doesNotMatch(seen, /io\.modelcontextprotocol\/clientInfo/);
      // A subscription hears the resource updates it asked for, through the guard.
      const updated: string[] = [];
      modern.setNotificationHandler("notifications/resources/updated", (note) => {
        updated.push(note.params.uri);
      });
      const subscription = await modern.listen({ resourceSubscriptions: ["file:///watched"] });
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, ["file:///watched"]);
      assert.equal(await modernCallText(modern, "notify"), "notified");
      for (let i = 0; i < 100 && updated.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(updated, ["file:///watched"]);
      await subscription.close();
    } finally {
      await legacy.client.close();
      await modern.close();
      await probing.close();
    }
    // A version neither generation serves: the spec's error, listing the supported ones.
    const unknown = await fetch(url, {
      method: "POST",
      headers: {
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2099-01-01",
        "mcp-method": "tools/list",
        authorization: `Bearer ${TOKEN}`,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    assert.equal(unknown.status, 400);
    const error = (await unknown.json()).error;
    assert.equal(error.code, -32022);
    assert.ok(error.data.supported.includes("2026-07-28"));
    assert.ok(error.data.supported.includes("2025-11-25"));
  });
});

/** Reads SSE events (id and parsed data) until `count` arrived or `ms` passed, then cuts. */
async function readEvents(
  response: Response,
  count: number,
  ms = 3000,
): Promise<{ id?: string; message?: Record<string, unknown> }[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { id?: string; message?: Record<string, unknown> }[] = [];
  let buffer = "";
  const deadline = Date.now() + ms;
  try {
    while (events.length < count && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((r) =>
          timer = setTimeout(() => r(undefined), deadline - Date.now())
        ),
      ]);
      clearTimeout(timer);
      if (chunk === undefined || chunk.done) break;
      buffer += chunk.value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: { id?: string; message?: Record<string, unknown> } = {};
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) event.id = line.slice(4);
          if (line.startsWith("data: ") && line.length > 6) {
            event.message = JSON.parse(line.slice(6));
          }
        }
        if (event.id !== undefined || event.message !== undefined) events.push(event);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

Deno.test("mcp-run serve replays what a cut GET stream missed when it resumes with Last-Event-ID", async () => {
  // Shared mode fans tools/list_changed out to the session's GET stream.
  await withServe(["--session-mode", "shared"], async (url) => {
    const base = {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      "mcp-protocol-version": "2025-11-25",
    };
    const init = await fetch(url, {
      method: "POST",
      headers: base,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    });
    const session = init.headers.get("mcp-session-id")!;
    assert.ok(session);
    await readEvents(init, 2);
    const headers = { ...base, "mcp-session-id": session };
    const initialized = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    });
    assert.equal(initialized.status, 202);
    let next = 1;
    // The guard passes one list change a second; resource updates are not held back so.
    const subscribed = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: next++,
        method: "resources/subscribe",
        params: { uri: "file:///watched" },
      }),
    });
    assert.ok((await readEvents(subscribed, 2)).some((e) => e.message?.result));
    const notify = async () => {
      const response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: next++,
          method: "tools/call",
          params: { name: "notify", arguments: {} },
        }),
      });
      assert.ok((await readEvents(response, 2)).some((e) => e.message?.result));
    };
    const live = readEvents(await fetch(url, { headers }), 2);
    const UPDATED = "notifications/resources/updated";
    await new Promise((resolve) => setTimeout(resolve, 200));
    await notify();
    const first = (await live).at(-1)!; // the stream is cut here
    assert.equal(first.message?.method, UPDATED);
    await notify();
    await notify();
    const resumed = (await readEvents(
      await fetch(url, { headers: { ...headers, "last-event-id": first.id! } }),
      10,
      1500,
    )).filter((e) => e.message?.method === UPDATED);
    assert.equal(resumed.length, 2, "the two missed, once each");
    assert.notEqual(resumed[0].id, resumed[1].id);
    // A forged id resumes nothing.
    const forged = await fetch(url, { headers: { ...headers, "last-event-id": "AAAA.1" } });
    assert.equal(forged.status, 400);
    await forged.body?.cancel();
    const ended = await fetch(url, { method: "DELETE", headers });
    assert.equal(ended.status, 200);
    await ended.body?.cancel();
  });
});

Deno.test("mcp-run serve --public gives each stateless request a process of its own", async () => {
  await withServe(["--public", "--tools", "pid,count"], async (url) => {
    const first = await connectModernClient({ url });
    const second = await connectModernClient({ url });
    try {
      // A caller without credentials leaves nothing behind for the next one.
      assert.equal(await modernCallText(first, "count"), "1");
      assert.equal(await modernCallText(second, "count"), "1");
      assert.equal(await modernCallText(first, "count"), "1");
      assert.notEqual(await modernCallText(first, "pid"), await modernCallText(first, "pid"));
    } finally {
      await first.close();
      await second.close();
    }
  });
});
