/**
 * Prepares the deployment image while runtime/deploy/Dockerfile builds it, as root inside the
 * build (the Deno images have no other tools to rely on): drops what a checkout holds besides
 * the source, caches mcp-run's dependencies as the lockfile pins them (offline when the build
 * context brings a filled `.deno-dir`), makes the tree readable and not writable by the
 * container user, writes the `mcp-run` program, and makes the state folder the container user's.
 * Not part of the API; no dependencies.
 *
 * @module
 */
const ROOT = "/opt/mcp-run";
const CONTAINER_UID = 1993;
const PROGRAM = "/usr/local/bin/mcp-run";

// The variables that would steer Deno's own start; the caller's never reach mcp-run.
const STEERING = [
  "DENO_AUTH_TOKENS",
  "DENO_V8_FLAGS",
  "DENO_NO_PACKAGE_JSON",
  "DENO_FUTURE",
  "DENO_JOBS",
  "JSR_URL",
  "NPM_CONFIG_REGISTRY",
  "npm_config_registry",
];

async function chmodTree(path: string): Promise<void> {
  const info = await Deno.lstat(path);
  if (info.isSymlink) return;
  const executable = info.isDirectory || ((info.mode ?? 0) & 0o111) !== 0;
  await Deno.chmod(path, executable ? 0o755 : 0o644);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) await chmodTree(`${path}/${entry.name}`);
}

async function modules(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await modules(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

if (import.meta.main) {
  for (const dir of [".git", ".cache", ".tools", "node_modules"]) {
    await Deno.remove(`${ROOT}/${dir}`, { recursive: true }).catch(() => {});
  }
  // Every module: the CLI loads most of them on use, out of reach of a static walk.
  const cache = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--quiet", "--frozen", ...await modules(`${ROOT}/runtime`)],
    env: { DENO_DIR: `${ROOT}/.deno-dir` },
  }).output();
  if (!cache.success) {
    console.error(new TextDecoder().decode(cache.stderr));
    console.error("Cannot cache mcp-run's dependencies: see above");
    Deno.exit(1);
  }
  await chmodTree(ROOT);
  await Deno.mkdir("/usr/local/bin", { recursive: true });
  await Deno.writeTextFile(
    PROGRAM,
    [
      "#!/bin/sh",
      "# mcp-run from /opt/mcp-run, with its own cache and none of the caller's Deno settings.",
      `unset ${STEERING.join(" ")}`,
      `DENO_DIR=${ROOT}/.deno-dir exec ${Deno.execPath()} run -A --quiet --frozen --cached-only ` +
      `${ROOT}/runtime/cli.ts "$@"`,
      "",
    ].join("\n"),
  );
  await Deno.chmod(PROGRAM, 0o755);
  // The state volume starts as this folder, with its owner and mode.
  await Deno.mkdir("/state", { recursive: true });
  await Deno.chown("/state", CONTAINER_UID, CONTAINER_UID);
  await Deno.chmod("/state", 0o700);
}
