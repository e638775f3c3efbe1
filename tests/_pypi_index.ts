/**
 * Python packages for the tests: the fixture servers built as wheels with the host's pip, and a
 * loopback PEP 503 "simple" index that serves them, so a `pypi:` package can be pulled from it
 * through `PIP_INDEX_URL` exactly as from pypi.org.
 *
 * - {@linkcode buildWheel} builds a project of tests/testdata/python (`evil_pkg`, `echo_pkg`):
 *   its pyproject.toml, the modules it names and the standard-library build backend beside it
 *   are copied into a temporary folder and built with `pip wheel --no-build-isolation` (nothing
 *   downloaded).
 * - {@linkcode startPypiIndex} serves `GET /simple/` (every project), `GET /simple/<name>/` (one
 *   link per file, with `#sha256=` and `data-requires-python`, which pip checks) and
 *   `GET /files/<file>`.
 *
 * Requires `--allow-run=pip`, `--allow-read`, `--allow-write` (temp folders) and
 * `--allow-net=127.0.0.1`.
 *
 * @module
 */
import { basename, join } from "node:path";

/** tests/testdata/python: the fixture servers and their package projects. */
export const PYTHON_TESTDATA: string = new URL("./testdata/python/", import.meta.url).pathname;
/** The malicious fixture server's project (`mcp-run-test-evil`, script `mcp-run-test-evil`). */
export const EVIL_PROJECT: string = join(PYTHON_TESTDATA, "evil_pkg");
/** The benign fixture server's project (`mcp-run-test-echo`, script `mcp-run-test-echo`). */
export const ECHO_PROJECT: string = join(PYTHON_TESTDATA, "echo_pkg");

/** Options for {@linkcode buildWheel}. */
export interface BuildWheelOptions {
  /** The pip program (default `pip`). */
  pip?: string;
}

const decoder = new TextDecoder();

/**
 * Normalises a project name as PEP 503 does: lower case, runs of `-_.` become `-`.
 *
 * @param name A project name as written, e.g. `"mcp_run_test_evil"`.
 * @returns The name index URLs use, e.g. `"mcp-run-test-evil"`.
 * @example
 * ```ts
 * import { normalizeName } from "./_pypi_index.ts";
 * console.assert(normalizeName("Friendly.Bard") === "friendly-bard");
 * ```
 */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Builds the wheel of a test project with the host's pip.
 *
 * @param project A folder holding pyproject.toml whose `[tool.mcp-run-test] modules` are files
 *   in its parent folder (as `evil_pkg` and `echo_pkg` are).
 * @param outDir Folder the wheel is written to (must exist).
 * @param options The pip program.
 * @returns The wheel's path.
 * @throws {Error} If pip fails; the message carries its output.
 * @example
 * ```ts ignore
 * const wheel = await buildWheel(EVIL_PROJECT, await Deno.makeTempDir());
 * // …/mcp_run_test_evil-0.1.0-py3-none-any.whl
 * ```
 */
export async function buildWheel(
  project: string,
  outDir: string,
  options: BuildWheelOptions = {},
): Promise<string> {
  const work = await Deno.makeTempDir({ prefix: "mcp-run-wheel-" });
  try {
    const pyproject = await Deno.readTextFile(join(project, "pyproject.toml"));
    await Deno.writeTextFile(join(work, "pyproject.toml"), pyproject);
    const modules = /^modules\s*=\s*\[([^\]]*)\]/m.exec(pyproject)?.[1].match(/"[^"]+"/g) ?? [];
    for (const file of [...modules.map((m) => m.slice(1, -1)), "wheel_backend.py"]) {
      await Deno.copyFile(join(project, "..", file), join(work, basename(file)));
    }
    const out = await new Deno.Command(options.pip ?? "pip", {
      args: [
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "--no-build-isolation",
        "--no-deps",
        "--no-index",
        "--wheel-dir",
        outDir,
        work,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const name = /^name\s*=\s*"([^"]+)"/m.exec(pyproject)?.[1] ?? "";
    const version = /^version\s*=\s*"([^"]+)"/m.exec(pyproject)?.[1] ?? "";
    const wheel = join(outDir, `${name.replace(/[-_.]+/g, "_")}-${version}-py3-none-any.whl`);
    if (!out.success || !await Deno.stat(wheel).then(() => true, () => false)) {
      throw new Error(
        `Cannot build the wheel of ${project}: pip said ${decoder.decode(out.stderr).trim()}`,
      );
    }
    return wheel;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Builds the wheels of both fixture servers.
 *
 * @param outDir Folder the wheels are written to (must exist).
 * @returns The paths of the malicious and the benign server's wheels.
 * @throws {Error} If pip fails.
 * @example
 * ```ts ignore
 * const { evil, echo } = await buildTestWheels(await Deno.makeTempDir());
 * ```
 */
export async function buildTestWheels(outDir: string): Promise<{ evil: string; echo: string }> {
  return {
    evil: await buildWheel(EVIL_PROJECT, outDir),
    echo: await buildWheel(ECHO_PROJECT, outDir),
  };
}

/** One distribution file the index serves. */
export interface IndexedFile {
  /** Normalised project name, e.g. `mcp-run-test-evil`. */
  project: string;
  /** File name, e.g. `mcp_run_test_evil-0.1.0-py3-none-any.whl`. */
  file: string;
  /** Hex sha256 of the file, as the index's links announce it. */
  sha256: string;
  /** Where it is read from. */
  path: string;
}

/** A running index. */
export interface PypiIndex {
  /** The simple index URL, for `PIP_INDEX_URL` / `--index-url`: `http://HOST:PORT/simple/`. */
  url: string;
  /** Files by file name. */
  files: Map<string, IndexedFile>;
  /** Method and path of every request so far. */
  requests: string[];
  /**
   * Adds a distribution file (wheel or sdist) to the index.
   *
   * @param path The file; its project is the part of its name before the first `-`.
   * @returns What the index now serves for it.
   */
  add(path: string): Promise<IndexedFile>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options for {@linkcode startPypiIndex}. */
export interface StartPypiIndexOptions {
  /** Distribution files to serve from the start. */
  files?: string[];
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /**
   * Where the project pages' links point, e.g. another index's `http://HOST:PORT/` (default:
   * this index's own `/files/`, by a relative link).
   */
  filesUrl?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, links: string[]): Response {
  const body = `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">` +
    `<title>${escapeHtml(title)}</title></head><body>\n${links.join("<br>\n")}\n</body></html>\n`;
  return new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });
}

function serve(
  files: Map<string, IndexedFile>,
  url: URL,
  filesUrl: string,
): Promise<Response> | Response {
  const path = url.pathname;
  if (path === "/simple/") {
    const projects = [...new Set([...files.values()].map((f) => f.project))].sort();
    return page("Simple index", projects.map((p) => `<a href="${p}/">${p}</a>`));
  }
  const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
  if (project !== undefined) {
    const own = [...files.values()].filter((f) => f.project === normalizeName(project));
    if (!own.length) return new Response("Not Found\n", { status: 404 });
    return page(
      `Links for ${project}`,
      own.map((f) =>
        `<a href="${filesUrl}files/${f.file}#sha256=${f.sha256}" ` +
        `data-requires-python="&gt;=3.9">${f.file}</a>`
      ),
    );
  }
  const file = files.get(/^\/files\/([^/]+)$/.exec(path)?.[1] ?? "");
  if (!file) return new Response("Not Found\n", { status: 404 });
  return Deno.readFile(file.path).then((bytes) =>
    new Response(bytes, { headers: { "content-type": "application/octet-stream" } })
  );
}

/**
 * Starts a PEP 503 simple index on a random port of loopback.
 *
 * @param options Files to serve and where to listen (e.g. the docker bridge's address, for a
 *   pull container that is not on the host network).
 * @returns The running index; call {@linkcode PypiIndex.close} when done.
 * @throws {Deno.errors.NotFound} If a file to serve does not exist.
 * @example
 * ```ts ignore
 * const index = await startPypiIndex({ files: [wheel] });
 * // pip install --index-url ${index.url} mcp-run-test-echo==0.1.0
 * await index.close();
 * ```
 */
export async function startPypiIndex(options: StartPypiIndexOptions = {}): Promise<PypiIndex> {
  const files = new Map<string, IndexedFile>();
  const requests: string[] = [];
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: 0,
    onListen: resolve,
  }, (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}`);
    return serve(files, url, options.filesUrl ?? "../../");
  });
  const address = await listening;
  const add = async (path: string): Promise<IndexedFile> => {
    const file = basename(path);
    const entry = {
      project: normalizeName(file.split("-")[0]),
      file,
      sha256: await sha256Hex(await Deno.readFile(path)),
      path,
    };
    files.set(file, entry);
    return entry;
  };
  for (const path of options.files ?? []) await add(path);
  return {
    url: `http://${address.hostname}:${address.port}/simple/`,
    files,
    requests,
    add,
    close: () => server.shutdown(),
  };
}
