// Test fixture: headless Chromium (Debian's `chromium`) driven over the DevTools protocol, to
// load a page, fill in a form and follow where the browser ends up.

/**
 * Whether a `chromium` binary is on the PATH. In CI (CI=true) the browser tests never skip: a
 * missing browser there fails instead (tools/system_setup.sh installs it).
 */
export function hasChromium(): boolean {
  let found = false;
  try {
    found = new Deno.Command("chromium", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    found = false;
  }
  if (!found && Deno.env.get("CI") === "true") {
    throw new Error("Browser tests cannot be skipped in CI: chromium is not on the PATH");
  }
  return found;
}

/** One headless browser tab. */
export interface Tab {
  /** Navigate and wait for the page to load. */
  navigate(url: string): Promise<void>;
  /** Evaluate an expression in the page (not subject to its CSP) and return its value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Wait until the tab's URL starts with `prefix`; returns the URL. */
  waitForUrl(prefix: string, timeoutMs?: number): Promise<string>;
  /** Close the browser and remove its profile. */
  close(): Promise<void>;
}

/** Start headless Chromium with a fresh profile and open one tab. */
export async function openChromium(): Promise<Tab> {
  const profile = await Deno.makeTempDir({ prefix: "mcp-run-chromium-" });
  const child = new Deno.Command("chromium", {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let endpoint = "";
  while (!endpoint) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before listening: ${text}`);
    text += value;
    endpoint = /DevTools listening on (ws:\/\/\S+)/.exec(text)?.[1] ?? "";
  }
  reader.releaseLock();
  child.stderr.cancel().catch(() => {});
  const port = new URL(endpoint).port;
  const target = await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, {
    method: "PUT",
  })).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 0;
  const waiting = new Map<number, (message: Record<string, unknown>) => void>();
  const listeners = new Set<(message: Record<string, unknown>) => void>();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (typeof message.id === "number") waiting.get(message.id)?.(message);
    else for (const l of listeners) l(message);
  };
  const send = (method: string, params: unknown = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, (m) => {
        waiting.delete(id);
        m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result as never);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Page.enable");
  const tab: Tab = {
    async navigate(url) {
      const loaded = new Promise<void>((resolve) => {
        const l = (m: Record<string, unknown>) => {
          if (m.method === "Page.loadEventFired") {
            listeners.delete(l);
            resolve();
          }
        };
        listeners.add(l);
      });
      await send("Page.navigate", { url });
      await loaded;
    },
    async evaluate<T>(expression: string): Promise<T> {
      const result = await send("Runtime.evaluate", { expression, returnByValue: true });
      return (result.result as { value: T }).value;
    },
    async waitForUrl(prefix, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const url = await tab.evaluate<string>("location.href").catch(() => "");
        if (url.startsWith(prefix)) return url;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the tab did not reach ${prefix} within ${timeoutMs} ms`);
    },
    async close() {
      ws.close();
      child.kill();
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
  return tab;
}
