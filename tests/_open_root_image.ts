/**
 * The root file system's own wall, for positive controls: a copy of a test image whose root
 * holds one world-writable folder ({@linkcode OPEN_FOLDER}), so that the container user
 * (1993:1993) may write there and only `--read-only` can stop it; and the plan edits that run a
 * sandbox's plan on that copy, with or without `--read-only`. The copy is made without running
 * anything inside it (`docker create`, `docker cp`, `docker commit`), so it works for images
 * without a shell, and is removed when the test process ends.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";

/** The world-writable (0777) folder on the copy's root file system. */
export const OPEN_FOLDER = "/mcp-run-open";

/** The copies made by this process, by the image they copy. */
const made = new Map<string, Promise<string>>();

async function docker(args: string[]): Promise<string> {
  const out = await runDocker(args);
  assert.equal(out.code, 0, `docker ${args.join(" ")}: ${out.stderr.trim()}`);
  return out.stdout.trim();
}

async function makeOpenRootImage(image: string): Promise<string> {
  const tag = `mcp-run-test/open-root:${crypto.randomUUID().slice(0, 8)}`;
  const staging = await Deno.makeTempDir({ prefix: "mcp-run-open-root-" });
  try {
    const folder = join(staging, OPEN_FOLDER.slice(1));
    await Deno.mkdir(folder);
    await Deno.chmod(folder, 0o777);
    const container = await docker(["create", "--pull", "never", image]);
    try {
      await docker(["cp", folder, `${container}:/`]);
      await docker(["commit", container, tag]);
    } finally {
      await runDocker(["rm", "-f", container]);
    }
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
  globalThis.addEventListener("unload", () => {
    new Deno.Command("docker", { args: ["rmi", "-f", tag], stdout: "null", stderr: "null" })
      .outputSync();
  });
  return tag;
}

/**
 * A copy of `image` whose root file system holds {@linkcode OPEN_FOLDER}, mode 0777 and owned
 * by root: writable by any user, unless the root is mounted read-only. Made once per process.
 * Requires `--allow-run=docker`.
 *
 * @param image The image (present in the engine).
 * @returns The copy's tag.
 * @throws {AssertionError} When docker cannot make it.
 * @example
 * ```ts ignore
 * const open = await openRootImage("mcp-run-test/python:3.11");
 * ```
 */
export function openRootImage(image: string): Promise<string> {
  let copy = made.get(image);
  if (!copy) {
    copy = makeOpenRootImage(image);
    made.set(image, copy);
  }
  return copy;
}

/**
 * A plan started on another image: the one argument naming `from` becomes `to`; nothing else
 * changes (user, capabilities, mounts, `--read-only`, the command).
 *
 * @param plan A docker sandbox's plan.
 * @param from The image it names.
 * @param to The image to run instead.
 * @returns The edited plan.
 * @throws {AssertionError} When the plan does not name `from` exactly once.
 * @example
 * ```ts ignore
 * const plan = onImage(sandbox.plan(server), IMAGE, await openRootImage(IMAGE));
 * ```
 */
export function onImage(plan: LaunchPlan, from: string, to: string): LaunchPlan {
  const at = plan.args.indexOf(from);
  assert.ok(at > 0 && plan.args.lastIndexOf(from) === at, `one ${from} in ${plan.args.join(" ")}`);
  return { ...plan, args: plan.args.with(at, to) };
}

/**
 * The same plan without `--read-only`: the container's root file system writable, everything
 * else (user, capabilities, mounts) as planned.
 *
 * @param plan A docker sandbox's plan.
 * @returns The edited plan.
 * @throws {AssertionError} When the plan has no `--read-only` flag.
 * @example
 * ```ts ignore
 * const control = withoutReadOnly(plan);
 * ```
 */
export function withoutReadOnly(plan: LaunchPlan): LaunchPlan {
  assert.equal(plan.args.filter((a) => a === "--read-only").length, 1, plan.args.join(" "));
  return { ...plan, args: plan.args.filter((a) => a !== "--read-only") };
}
