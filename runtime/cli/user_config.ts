/**
 * The user's own defaults: `~/.config/mcp-run/config.json` (or `$XDG_CONFIG_HOME/mcp-run/`,
 * `%APPDATA%\mcp-run\` on Windows). It chooses the default isolation and the image of each
 * package kind (for mirrors and air-gapped machines), and the poisoning scan's mode.
 *
 * @module
 */
import { join } from "../_path.ts";
import { checkImageReference } from "../sandbox/docker_checks.ts";
import { readPlainJsonc } from "../policy/_plain_jsonc.ts";
import { onUse } from "../_on_use.ts";
import type { ScanMode } from "../guard/scan.ts";
import { limitsProblem, type ResourceLimits } from "../sandbox/resource_caps.ts";
import { checkRuntimeName } from "../sandbox/_container_hardening.ts";

/** What the user's config file may set. */
export interface UserConfig {
  /** The isolation used when `--isolation` is not given (default `deno`). */
  isolation?: "deno" | "docker" | "gvisor";
  /**
   * The engine runtime that is gVisor under `gvisor` isolation (default `runsc`): the name it is
   * registered by in the engine's `daemon.json`.
   */
  gvisorRuntime?: string;
  /** The image Deno servers run in under docker isolation when `--image` is not given. */
  image?: string;
  /**
   * The image of each package kind when `--image` is not given: `deno` (the same as `image`,
   * which it overrides) and `python` (PyPI servers, and the pull container that installs them).
   */
  images?: UserImages;
  /**
   * What becomes of instruction-like text in servers' definitions when `--scan` is not given:
   * `warn` or `block` (over a manifest's `scan`; default `block`).
   */
  scan?: ScanMode;
  /**
   * The memory caps of every server, in MiB (default 512 heap, 1024 process): a manifest may
   * ask for more for its server, never less.
   */
  limits?: Partial<ResourceLimits>;
}

/** The image kinds the user config may set. */
export interface UserImages {
  /** Deno servers under docker isolation. */
  deno?: string;
  /** PyPI servers and their pull container. */
  python?: string;
}

const IMAGE_KINDS = ["deno", "python"] as const;

/**
 * Finds the user's config file (which may not exist).
 *
 * @param env The environment (`MCP_RUN_CONFIG`, `XDG_CONFIG_HOME`, `HOME`, `APPDATA`).
 * @param os The operating system.
 * @returns The file path, or `undefined` when no home folder is known.
 *
 * @example
 * ```ts
 * import { userConfigPath } from "./user_config.ts";
 * console.log(userConfigPath({ HOME: "/home/ada" }, "linux")); // "/home/ada/.config/mcp-run/config.json"
 * ```
 */
export function userConfigPath(
  env: Record<string, string | undefined>,
  os: typeof Deno.build.os = Deno.build.os,
): string | undefined {
  if (env.MCP_RUN_CONFIG) return env.MCP_RUN_CONFIG;
  if (os === "windows" && env.APPDATA) return join(env.APPDATA, "mcp-run", "config.json");
  const base = env.XDG_CONFIG_HOME || (env.HOME && join(env.HOME, ".config"));
  return base ? join(base, "mcp-run", "config.json") : undefined;
}

/**
 * Parses the user's config text (JSONC): unknown fields and wrong values are errors that name
 * the file and the field.
 *
 * @param text The file's text.
 * @param file The file's path, for messages.
 * @returns The settings.
 * @throws {SyntaxError} When the text is not JSONC or a field is wrong (an image must be pinned:
 *   a version tag other than `latest`, or a digest).
 *
 * @example
 * ```ts
 * import { parseUserConfig } from "./user_config.ts";
 * const config = await parseUserConfig(`{ "isolation": "docker" } // always`, "c.json");
 * console.log(config.isolation); // "docker"
 * ```
 */
export async function parseUserConfig(text: string, file: string): Promise<UserConfig> {
  const value = readPlainJsonc(text, Infinity) ?? await readJsonc(text, file);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SyntaxError(`Cannot read "${file}": it must hold one JSON object`);
  }
  const config: UserConfig = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (key === "isolation") {
      if (field !== "deno" && field !== "docker" && field !== "gvisor") {
        throw new SyntaxError(
          `"${file}": isolation must be "deno", "docker" or "gvisor", got ${JSON.stringify(field)}`,
        );
      }
      config.isolation = field;
    } else if (key === "gvisorRuntime") {
      if (typeof field !== "string" || !isRuntimeName(field)) {
        throw new SyntaxError(
          `"${file}": gvisorRuntime must be the name gVisor is registered by in the engine's ` +
            `daemon.json (letters, digits, ".", "_", "-"; such as "runsc"), got ` +
            JSON.stringify(field),
        );
      }
      config.gvisorRuntime = field;
    } else if (key === "image") {
      config.image = readImage(field, file, "image");
    } else if (key === "images") {
      config.images = readImages(field, file);
    } else if (key === "limits") {
      const problem = limitsProblem(field);
      if (problem) throw new SyntaxError(`"${file}": ${problem}`);
      config.limits = field as Partial<ResourceLimits>;
    } else if (key === "scan") {
      if (field !== "warn" && field !== "block") {
        throw new SyntaxError(
          `"${file}": scan must be "warn" or "block", got ${JSON.stringify(field)}`,
        );
      }
      config.scan = field;
    } else if (key !== "$schema") {
      throw new SyntaxError(
        `"${file}": unknown field "${key}"; known fields are isolation, gvisorRuntime, image, images, ` +
          "scan, limits",
      );
    }
  }
  return config;
}

/** Whether `name` is an engine runtime's name, as docker accepts it in `--runtime`. */
function isRuntimeName(name: string): boolean {
  try {
    checkRuntimeName(name);
    return true;
  } catch {
    return false;
  }
}

/** An image field: a pinned image reference. */
function readImage(field: unknown, file: string, key: string): string {
  if (typeof field !== "string" || field === "") {
    throw new SyntaxError(`"${file}": ${key} must be an image name, got ${JSON.stringify(field)}`);
  }
  try {
    checkImageReference(field);
  } catch (error) {
    throw new SyntaxError(`"${file}": ${key}: ${(error as Error).message}`, { cause: error });
  }
  return field;
}

/** The `images` object: one pinned image per known package kind. */
function readImages(field: unknown, file: string): UserImages {
  if (field === null || typeof field !== "object" || Array.isArray(field)) {
    throw new SyntaxError(
      `"${file}": images must be an object such as { "python": "python:3.12-slim@sha256:…" }`,
    );
  }
  const images: UserImages = {};
  for (const [kind, image] of Object.entries(field as Record<string, unknown>)) {
    if (!(IMAGE_KINDS as readonly string[]).includes(kind)) {
      throw new SyntaxError(
        `"${file}": images.${kind} is not an image kind; known kinds are ${IMAGE_KINDS.join(", ")}`,
      );
    }
    images[kind as keyof UserImages] = readImage(image, file, `images.${kind}`);
  }
  return images;
}

/** JSONC that is not plain, read by jsonc-parser (loaded only then). */
async function readJsonc(text: string, file: string): Promise<unknown> {
  const { readConfigJsonc } =
    await (import(onUse("./_config_jsonc.ts", import.meta.url)) as Promise<
      typeof import("./_config_jsonc.ts")
    >);
  return readConfigJsonc(text, file);
}

/**
 * Reads the user's config file; a missing file means no settings.
 *
 * @param env The environment used to find the file.
 * @returns The settings.
 * @throws {SyntaxError} When the file exists but is not valid.
 */
export async function loadUserConfig(env: Record<string, string | undefined>): Promise<UserConfig> {
  const file = userConfigPath(env);
  if (!file) return {};
  try {
    return await parseUserConfig(await Deno.readTextFile(file), file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
}
