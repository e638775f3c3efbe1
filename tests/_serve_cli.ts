/** `mcp-run serve` as the end-to-end tests start it. */
import { ROOT, toolEnv } from "./_helpers.ts";

/**
 * Starts `mcp-run serve …` (the real CLI, a subprocess) and waits for the URL it prints and the
 * lines printed with it.
 *
 * @param args The arguments after `serve`.
 * @param env Variables added to its environment (a user config, say).
 * @returns The process, its URL, and its stderr so far.
 */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<{
  child: Deno.ChildProcess;
  url: string;
  stderr: () => string;
}> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, "serve", ...args],
    env: { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  const deadline = Date.now() + 120_000;
  let url: string | undefined;
  while (url === undefined) {
    url = /on (http:\/\/\S+)/.exec(text)?.[1];
    if (url !== undefined) break;
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  pump.catch(() => {});
  // The lines printed right after the URL (auth, tools, advice) may arrive in later chunks: wait
  // until the output has been quiet for 100 ms (at most 2 s).
  for (let i = 0, seen = -1; i < 20 && seen !== text.length; i++) {
    seen = text.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, url, stderr: () => text };
}
