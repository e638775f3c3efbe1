/**
 * A small JSR-compatible registry for tests, served on loopback.
 *
 * Packages get in the way real ones do: `deno publish` against the registry's publish API
 * (`JSR_URL` pointed here, a per-registry random token). Deno then resolves `jsr:` specifiers
 * from it when run with `JSR_URL=<registry.url>`, exactly like it does from jsr.io:
 *
 * - `GET /@scope/name/meta.json`: `{ scope, name, latest, versions: { "<v>": {} } }`
 * - `GET /@scope/name/<v>_meta.json`: `{ manifest: { "/file": { size, checksum: "sha256-<hex>" } },
 *   exports }` — Deno checks each downloaded file against its checksum.
 * - `GET /@scope/name/<v>/<file>`: the file as published (import map specifiers unfurled).
 *
 * Publish API (the subset `deno publish --token` uses): `GET /api/scopes/:s/packages/:p`,
 * `GET /api/scopes/:s/packages/:p/versions/:v` (404 until published),
 * `POST /api/scopes/:s/packages/:p/versions/:v` with the gzipped tarball, and
 * `GET /api/publish_status/:id`.
 *
 * {@linkcode JsrRegistry.tamper} replaces a file's served bytes while the version metadata keeps
 * the published checksum, to prove that Deno refuses a modified package.
 *
 * Requires `--allow-net=127.0.0.1` to serve and `--allow-run` (Deno itself) to publish.
 *
 * @module
 */

/** A published package version held by the registry. */
export interface PublishedVersion {
  /** Package name, e.g. `"@sandboxed/time"`. */
  name: string;
  /** Exact version. */
  version: string;
  /** Files by absolute package path (`"/mod.ts"`). */
  files: Map<string, Uint8Array>;
  /** Export map, e.g. `{ ".": "./mod.ts" }`. */
  exports: Record<string, string>;
}

/** A running registry. */
export interface JsrRegistry {
  /** Base URL with a trailing slash, for `JSR_URL`. */
  url: string;
  /** Token `deno publish --token` must send. */
  token: string;
  /** Paths requested so far (method and path), for assertions. */
  requests: string[];
  /** Published versions by `"@scope/name@version"`. */
  packages: Map<string, PublishedVersion>;
  /**
   * Publishes the package in `dir` with the real `deno publish` against this registry.
   *
   * @param dir Folder holding the package's deno.json.
   * @returns The published version.
   * @throws {Error} If `deno publish` fails; the message carries its output.
   */
  publish(dir: string): Promise<PublishedVersion>;
  /**
   * Serves `bytes` for one file from now on, leaving the version metadata (and its checksum)
   * as published. Pass `undefined` to serve the published bytes again.
   *
   * @param pkg Package and version, e.g. `"@sandboxed/time@0.1.0"`.
   * @param path Package path, e.g. `"/mod.ts"`.
   * @param bytes Replacement content.
   */
  tamper(pkg: string, path: string, bytes: Uint8Array | string | undefined): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options for {@linkcode startJsrRegistry}. */
export interface StartJsrRegistryOptions {
  /** Deno binary used by {@linkcode JsrRegistry.publish}; defaults to `Deno.execPath()`. */
  deno?: string;
  /** Extra environment for `deno publish` (e.g. `DENO_DIR`). */
  env?: Record<string, string>;
}

const encoder = new TextEncoder();

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function apiError(status: number, code: string, message: string): Response {
  return json({ code, message }, status);
}

/**
 * Reads a tar archive (ustar, GNU long names, pax path records) into files by path.
 *
 * @param tar Uncompressed tar bytes.
 * @returns Regular files keyed by their path with a leading slash and no `./`.
 * @throws {SyntaxError} If a header is malformed or a path escapes the package.
 */
export function readTar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const decoder = new TextDecoder();
  const text = (start: number, length: number): string =>
    decoder.decode(tar.subarray(start, start + length)).replace(/\0.*$/s, "");
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || "0", 8);
    if (!Number.isFinite(size) || size < 0) {
      throw new SyntaxError(`Cannot read tar entry at ${offset}: bad size`);
    }
    const type = String.fromCharCode(header[156] || 48);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    const prefix = text(offset + 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    longName = undefined;
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = decoder.decode(body).replace(/\0.*$/s, "");
      continue;
    }
    if (type === "x") {
      const path = /\d+ path=([^\n]*)\n/.exec(decoder.decode(body));
      if (path) longName = path[1];
      continue;
    }
    if (type !== "0" && type !== "\0") continue;
    name = "/" + name.replace(/^\.?\/+/, "");
    if (name.split("/").includes("..")) {
      throw new SyntaxError(`Cannot read tar entry "${name}": it leaves the package`);
    }
    files.set(name, body.slice());
  }
  return files;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function normalizeExports(exports: unknown): Record<string, string> {
  if (typeof exports === "string") return { ".": exports };
  if (exports !== null && typeof exports === "object") {
    return Object.fromEntries(
      Object.entries(exports).filter((entry): entry is [string, string] =>
        typeof entry[1] === "string"
      ),
    );
  }
  return {};
}

/**
 * Starts a JSR-compatible registry on 127.0.0.1 at a random port.
 *
 * @param options Deno binary and environment for publishing.
 * @returns The running registry; call `close()` when done.
 * @example
 * ```ts ignore
 * const registry = await startJsrRegistry();
 * await registry.publish("servers/time");
 * // JSR_URL=${registry.url} deno run jsr:@sandboxed/time@0.1.0
 * await registry.close();
 * ```
 */
export function startJsrRegistry(options: StartJsrRegistryOptions = {}): Promise<JsrRegistry> {
  const token = crypto.randomUUID();
  const packages = new Map<string, PublishedVersion>();
  const tampered = new Map<string, Uint8Array>();
  const requests: string[] = [];
  const tasks = new Map<string, { id: string; status: string; error: null }>();

  async function handlePublish(
    request: Request,
    scope: string,
    pkg: string,
    version: string,
  ): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${token}`) {
      return apiError(401, "unauthorized", "A valid token is required to publish");
    }
    const name = `@${scope}/${pkg}`;
    if (packages.has(`${name}@${version}`)) {
      return apiError(409, "versionAlreadyExists", `${name}@${version} is already published`);
    }
    const body = new Uint8Array(await request.arrayBuffer());
    const files = readTar(await gunzip(body));
    const configPath = new URL(request.url).searchParams.get("config") ?? "/deno.json";
    const config = files.get(configPath);
    if (config === undefined) {
      return apiError(400, "missingConfigFile", `The tarball has no ${configPath}`);
    }
    const parsed = JSON.parse(new TextDecoder().decode(config));
    if (parsed.name !== name || parsed.version !== version) {
      return apiError(
        400,
        "configMismatch",
        `${configPath} names ${parsed.name}@${parsed.version}`,
      );
    }
    packages.set(`${name}@${version}`, {
      name,
      version,
      files,
      exports: normalizeExports(parsed.exports),
    });
    const task = { id: crypto.randomUUID(), status: "success", error: null };
    tasks.set(task.id, task);
    return json(task);
  }

  async function versionMeta(published: PublishedVersion): Promise<Response> {
    const manifest: Record<string, { size: number; checksum: string }> = {};
    for (const [path, bytes] of [...published.files].sort(([a], [b]) => a.localeCompare(b))) {
      manifest[path] = { size: bytes.byteLength, checksum: `sha256-${await sha256Hex(bytes)}` };
    }
    return json({ manifest, exports: published.exports });
  }

  async function handler(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname);
    requests.push(`${request.method} ${path}`);

    let match = /^\/api\/scopes\/([^/]+)\/packages\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(path);
    if (match !== null) {
      const [, scope, pkg, version] = match;
      if (version === undefined) return json({ scope, name: pkg });
      if (request.method === "POST") return await handlePublish(request, scope, pkg, version);
      return packages.has(`@${scope}/${pkg}@${version}`)
        ? json({ scope, package: pkg, version })
        : apiError(404, "packageVersionNotFound", "The version was not found");
    }
    match = /^\/api\/publish_status\/([^/]+)$/.exec(path);
    if (match !== null) {
      const task = tasks.get(match[1]);
      return task ? json(task) : apiError(404, "publishingTaskNotFound", "No such task");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return apiError(405, "methodNotAllowed", "Only GET is served here");
    }

    match = /^\/(@[^/]+\/[^/]+)\/meta\.json$/.exec(path);
    if (match !== null) {
      const name = match[1];
      const versions = [...packages.values()].filter((p) => p.name === name).map((p) => p.version);
      if (versions.length === 0) return apiError(404, "packageNotFound", `${name} not found`);
      const [scope, pkg] = name.slice(1).split("/");
      return json({
        scope,
        name: pkg,
        latest: versions.at(-1),
        versions: Object.fromEntries(versions.map((v) => [v, {}])),
      });
    }
    match = /^\/(@[^/]+\/[^/]+)\/([^/]+)_meta\.json$/.exec(path);
    if (match !== null) {
      const published = packages.get(`${match[1]}@${match[2]}`);
      return published
        ? await versionMeta(published)
        : apiError(404, "packageVersionNotFound", `${match[1]}@${match[2]} not found`);
    }
    match = /^\/(@[^/]+\/[^/]+)\/([^/]+)(\/.+)$/.exec(path);
    if (match !== null) {
      const key = `${match[1]}@${match[2]}`;
      const file = tampered.get(`${key}${match[3]}`) ?? packages.get(key)?.files.get(match[3]);
      if (file !== undefined) {
        return new Response(file as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": "application/octet-stream" },
        });
      }
    }
    return apiError(404, "notFound", `Nothing at ${path}`);
  }

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen({ port }) {
        const url = `http://127.0.0.1:${port}/`;
        resolve({
          url,
          token,
          requests,
          packages,
          async publish(dir: string): Promise<PublishedVersion> {
            const before = new Set(packages.keys());
            const output = await new Deno.Command(options.deno ?? Deno.execPath(), {
              args: ["publish", "--token", token, "--allow-dirty", "--no-provenance"],
              cwd: dir,
              env: { ...options.env, JSR_URL: url, NO_COLOR: "1" },
              stdin: "null",
            }).output();
            const log = new TextDecoder().decode(output.stderr) +
              new TextDecoder().decode(output.stdout);
            const added = [...packages.keys()].filter((key) => !before.has(key));
            if (!output.success || added.length !== 1) {
              throw new Error(`Cannot publish ${dir} to the test registry:\n${log}`);
            }
            return packages.get(added[0])!;
          },
          tamper(pkg: string, path: string, bytes: Uint8Array | string | undefined): void {
            if (bytes === undefined) tampered.delete(`${pkg}${path}`);
            else {tampered.set(
                `${pkg}${path}`,
                typeof bytes === "string" ? encoder.encode(bytes) : bytes,
              );}
          },
          close: () => server.shutdown(),
        });
      },
    }, handler);
  });
}
