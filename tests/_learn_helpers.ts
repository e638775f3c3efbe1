// Shared checks for the learn tests: a draft must parse, pass `check`, grant only what a recorded
// check asked for, and (when the server can run natively) list its tools under the draft.
import assert from "node:assert/strict";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { manifestGrantProblems, resolveServer } from "../runtime/policy/resolve.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import type { LearnedServer } from "../runtime/learn/learn_server.ts";
import type { Manifest } from "../runtime/policy/manifest.ts";
import { toolEnv } from "./_helpers.ts";

/** One learn cache shared by every learn test of a run (each server is pulled once). */
export const LEARN_CACHE: string = Deno.makeTempDirSync({ prefix: "mcp-run-learn-cache-" });

/** The draft text parses to the draft object, and `check`'s grant policy accepts it. */
export function assertDraftValid(learned: LearnedServer, home: string): Manifest {
  const parsed = parseManifest(learned.text, { file: "draft.jsonc" });
  assert.deepEqual(parsed, learned.manifest);
  const problems = manifestGrantProblems(parsed, { home, cacheRoot: LEARN_CACHE });
  assert.deepEqual(problems, [], JSON.stringify(problems));
  return parsed;
}

/**
 * Every permission entry of the draft was asked for by a check the server made (and recorded);
 * paths are parameters or `${package_dir}`, never concrete; env names were named or needed.
 */
export function assertGrantsExercised(learned: LearnedServer, given: string[] = []): void {
  const p = learned.manifest.permissions;
  const key = (c: { permission: string; value: string | null }) => `${c.permission} ${c.value}`;
  const recorded = new Set(learned.checks.map(key));
  for (const kind of ["read", "write", "net", "sys"] as const) {
    for (const entry of p[kind]) {
      const evidence = learned.evidence.find((e) => e.permission === kind && e.entry === entry);
      assert.ok(evidence, `${kind} ${entry} was drafted without a check asking for it`);
      assert.ok(recorded.has(key(evidence.check)), `${kind} ${entry}: evidence not recorded`);
    }
  }
  for (const entry of [...p.read, ...p.write]) assert.match(entry, /^\$\{\w+\}$/);
  assert.deepEqual([...p.run, ...p.ffi, ...p.env], []);
  const envChecked = new Set(
    learned.checks.filter((c) => c.permission === "env").map((c) => c.value),
  );
  for (
    const name of [...Object.keys(learned.manifest.env), ...Object.keys(learned.manifest.secrets)]
  ) {
    assert.ok(given.includes(name) || envChecked.has(name), `env ${name} was never asked for`);
  }
}

/** Options for {@linkcode inspectDraft}. */
export interface InspectDraftOptions {
  /** Parameter values (real folders). */
  params?: Record<string, string | string[]>;
  /** Values for the draft's variables and secrets. */
  env?: Record<string, string>;
  /** The home folder. */
  home: string;
  /** Registry overrides (`JSR_URL`). */
  registries?: Record<string, string>;
}

/** Starts the server under its draft, as `inspect` does, and returns its tool names. */
export async function inspectDraft(
  manifest: Manifest,
  options: InspectDraftOptions,
): Promise<string[]> {
  const server = resolveServer(manifest, {
    params: options.params,
    cacheRoot: LEARN_CACHE,
    home: options.home,
  });
  const connected = await connectServer(server, {
    cacheRoot: LEARN_CACHE,
    source: { ...toolEnv(), ...options.env },
    approve: true,
    registries: options.registries,
    progress: () => {},
    onStderr: () => {},
    timeoutMs: 60_000,
  });
  try {
    return (await connected.client.listTools()).tools.map((t: { name: string }) => t.name);
  } finally {
    await connected.close();
  }
}

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(LEARN_CACHE, { recursive: true });
  } catch { /* already gone */ }
});
