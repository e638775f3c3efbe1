/**
 * A minimal OCI distribution registry (Docker Registry HTTP API v2) for tests, on loopback.
 *
 * Enough of the API for the real Docker engine to `docker push 127.0.0.1:PORT/name:tag` and
 * `docker pull 127.0.0.1:PORT/name@sha256:…` over plain HTTP (the engine treats 127.0.0.0/8 as
 * an insecure registry by default):
 *
 * - `GET /v2/`: the API version check.
 * - `HEAD|GET /v2/<name>/blobs/<digest>`: a stored blob.
 * - `POST /v2/<name>/blobs/uploads/` (monolithic with `?digest=`, or a session), `PATCH` and
 *   `PUT …?digest=` on the session: uploads, each checked against its sha256 digest.
 * - `HEAD|GET|PUT /v2/<name>/manifests/<tag or digest>`: manifests, kept with their media type.
 * - `GET /v2/<name>/tags/list`.
 *
 * Blobs and manifests live in a temporary folder removed by {@linkcode OciRegistry.close}.
 * Requires `--allow-net=127.0.0.1`, `--allow-read`/`--allow-write` (temp folder) and
 * `--allow-run=docker` for {@linkcode pushImage}.
 *
 * @module
 */
import { join } from "node:path";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";

/** A running registry. */
export interface OciRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  host: string;
  /** Folder holding blobs and manifests. */
  dir: string;
  /** Method and path of every request so far, for assertions. */
  requests: string[];
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/** Options for {@linkcode startOciRegistry}. */
export interface StartOciRegistryOptions {
  /** Address to listen on (default `127.0.0.1`). */
  hostname?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
// Repository names as the distribution spec writes them: lower-case path components.
const NAME = "[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*";
const ROUTE = new RegExp(`^/v2/(${NAME})/(blobs/uploads|blobs|manifests|tags)(?:/([^/]*))?$`);
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
];

async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return "sha256:" + Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

function apiError(status: number, code: string, message: string): Response {
  return Response.json({ errors: [{ code, message }] }, { status });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** The registry's storage and request handler; one per server. */
class Store {
  #dir: string;
  #uploads = new Map<string, Uint8Array[]>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  #blob(digest: string): string {
    return join(this.#dir, "blobs", digest.replace(":", "_"));
  }

  #tag(name: string, tag: string): string {
    return join(this.#dir, "tags", name.replaceAll("/", "+"), tag);
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/v2/" || url.pathname === "/v2") return Response.json({});
    const match = ROUTE.exec(url.pathname);
    if (!match) return apiError(404, "NAME_UNKNOWN", `No route for ${url.pathname}`);
    const [, name, kind, ref] = match;
    if (kind === "blobs") return await this.#getBlob(request, ref ?? "");
    if (kind === "blobs/uploads") return await this.#upload(request, url, name, ref);
    if (kind === "manifests") return await this.#manifest(request, name, ref ?? "");
    return await this.#tags(name);
  }

  async #getBlob(request: Request, digest: string): Promise<Response> {
    if (!DIGEST.test(digest)) return apiError(400, "DIGEST_INVALID", `Bad digest ${digest}`);
    const path = this.#blob(digest);
    if (!await exists(path)) return apiError(404, "BLOB_UNKNOWN", `No blob ${digest}`);
    const { size } = await Deno.stat(path);
    const headers = {
      "content-length": String(size),
      "content-type": "application/octet-stream",
      "docker-content-digest": digest,
    };
    if (request.method === "HEAD") return new Response(null, { headers });
    return new Response((await Deno.open(path)).readable, { headers });
  }

  async #putBlob(digest: string, bytes: Uint8Array): Promise<Response | undefined> {
    if (!DIGEST.test(digest)) return apiError(400, "DIGEST_INVALID", `Bad digest ${digest}`);
    const actual = await sha256(bytes);
    if (actual !== digest) {
      return apiError(400, "DIGEST_INVALID", `Upload is ${actual}, not ${digest}`);
    }
    await Deno.mkdir(join(this.#dir, "blobs"), { recursive: true });
    await Deno.writeFile(this.#blob(digest), bytes);
    return undefined;
  }

  async #upload(request: Request, url: URL, name: string, id?: string): Promise<Response> {
    const body = new Uint8Array(await request.arrayBuffer());
    const digest = url.searchParams.get("digest");
    if (request.method === "POST" && !id) {
      const mount = url.searchParams.get("mount");
      if (mount && DIGEST.test(mount) && await exists(this.#blob(mount))) {
        return this.#created(name, mount);
      }
      if (digest) return await this.#finish(name, digest, [body]);
      const uuid = crypto.randomUUID();
      this.#uploads.set(uuid, []);
      return this.#accepted(name, uuid, 0);
    }
    const parts = id ? this.#uploads.get(id) : undefined;
    if (!id || !parts) return apiError(404, "BLOB_UPLOAD_UNKNOWN", `No upload ${id}`);
    if (body.length) parts.push(body);
    if (request.method === "PATCH") {
      return this.#accepted(name, id, parts.reduce((n, p) => n + p.length, 0));
    }
    if (request.method === "PUT" && digest) {
      this.#uploads.delete(id);
      return await this.#finish(name, digest, parts);
    }
    if (request.method === "DELETE") {
      this.#uploads.delete(id);
      return new Response(null, { status: 204 });
    }
    return apiError(405, "UNSUPPORTED", `${request.method} on an upload`);
  }

  async #finish(name: string, digest: string, parts: Uint8Array[]): Promise<Response> {
    return await this.#putBlob(digest, concat(parts)) ?? this.#created(name, digest);
  }

  #created(name: string, digest: string): Response {
    return new Response(null, {
      status: 201,
      headers: { location: `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest },
    });
  }

  #accepted(name: string, uuid: string, size: number): Response {
    return new Response(null, {
      status: 202,
      headers: {
        location: `/v2/${name}/blobs/uploads/${uuid}`,
        "docker-upload-uuid": uuid,
        range: `0-${Math.max(size - 1, 0)}`,
        "content-length": "0",
      },
    });
  }

  async #manifest(request: Request, name: string, ref: string): Promise<Response> {
    if (request.method === "PUT") return await this.#putManifest(request, name, ref);
    let digest = ref;
    if (!DIGEST.test(ref)) {
      const tagFile = this.#tag(name, ref);
      if (!await exists(tagFile)) return apiError(404, "MANIFEST_UNKNOWN", `No tag ${ref}`);
      digest = (await Deno.readTextFile(tagFile)).trim();
    }
    const path = this.#blob(digest);
    if (!await exists(path + ".type")) {
      return apiError(404, "MANIFEST_UNKNOWN", `No manifest ${digest}`);
    }
    const bytes = await Deno.readFile(path);
    const headers = {
      "content-type": (await Deno.readTextFile(path + ".type")).trim(),
      "content-length": String(bytes.length),
      "docker-content-digest": digest,
    };
    return new Response(request.method === "HEAD" ? null : bytes, { headers });
  }

  async #putManifest(request: Request, name: string, ref: string): Promise<Response> {
    const type = (request.headers.get("content-type") ?? "").split(";")[0].trim();
    if (!MANIFEST_TYPES.includes(type)) {
      return apiError(400, "MANIFEST_INVALID", `Unsupported manifest type "${type}"`);
    }
    const bytes = new Uint8Array(await request.arrayBuffer());
    const digest = await sha256(bytes);
    if (DIGEST.test(ref) && ref !== digest) {
      return apiError(400, "DIGEST_INVALID", `Manifest is ${digest}, not ${ref}`);
    }
    const refs = JSON.parse(new TextDecoder().decode(bytes));
    for (const blob of [refs.config, ...(refs.layers ?? [])].filter(Boolean)) {
      if (!await exists(this.#blob(blob.digest))) {
        return apiError(400, "MANIFEST_BLOB_UNKNOWN", `Blob ${blob.digest} was not pushed`);
      }
    }
    const error = await this.#putBlob(digest, bytes);
    if (error) return error;
    await Deno.writeTextFile(this.#blob(digest) + ".type", type);
    if (!DIGEST.test(ref)) {
      await Deno.mkdir(join(this.#tag(name, ref), ".."), { recursive: true });
      await Deno.writeTextFile(this.#tag(name, ref), digest);
    }
    return new Response(null, {
      status: 201,
      headers: { location: `/v2/${name}/manifests/${digest}`, "docker-content-digest": digest },
    });
  }

  async #tags(name: string): Promise<Response> {
    const tags: string[] = [];
    const dir = join(this.#dir, "tags", name.replaceAll("/", "+"));
    if (await exists(dir)) { for await (const entry of Deno.readDir(dir)) tags.push(entry.name); }
    if (!tags.length) return apiError(404, "NAME_UNKNOWN", `No repository ${name}`);
    return Response.json({ name, tags: tags.sort() });
  }
}

/**
 * Starts a registry on a random port of loopback.
 *
 * @param options Where to listen. Keep it on loopback: the engine talks plain HTTP only to
 *   registries in 127.0.0.0/8 (its default insecure range).
 * @returns The running registry; call {@linkcode OciRegistry.close} when done.
 * @throws {Deno.errors.AddrInUse} If the address cannot be listened on.
 * @example
 * ```ts ignore
 * const registry = await startOciRegistry();
 * const ref = await pushImage(registry, "mcp-run-test/deno:2.9.6");
 * // ref === "127.0.0.1:PORT/mcp-run-test/deno@sha256:…"
 * await registry.close();
 * ```
 */
export async function startOciRegistry(
  options: StartOciRegistryOptions = {},
): Promise<OciRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-oci-registry-" });
  const store = new Store(dir);
  const requests: string[] = [];
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: 0,
    onListen: resolve,
  }, async (request) => {
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    const response = await store.handle(request).catch((error) =>
      apiError(500, "UNKNOWN", (error as Error).message)
    );
    response.headers.set("docker-distribution-api-version", "registry/2.0");
    return response;
  });
  const address = await listening;
  return {
    host: `${address.hostname}:${address.port}`,
    dir,
    requests,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Options for {@linkcode pushImage}. */
export interface PushImageOptions {
  /** Repository name in the registry (default: the local tag's repository). */
  name?: string;
  /** Tag to push under (default `latest`). */
  tag?: string;
}

/**
 * Pushes a local image to the registry with the real `docker push`, and removes the temporary
 * registry tag it needed again (the local image stays). Requires `--allow-run=docker`.
 *
 * @param registry A registry from {@linkcode startOciRegistry}.
 * @param localTag A local image reference, e.g. `"mcp-run-test/deno:2.9.6"`.
 * @param options Repository name and tag in the registry.
 * @returns The pushed image by digest: `127.0.0.1:PORT/name@sha256:<manifest digest>`.
 * @throws {Error} If tagging or pushing fails; the message carries docker's output.
 * @example
 * ```ts ignore
 * const ref = await pushImage(registry, "mcp-run-test/deno:2.9.6", { name: "tools/deno" });
 * ```
 */
export async function pushImage(
  registry: OciRegistry,
  localTag: string,
  options: PushImageOptions = {},
): Promise<string> {
  const name = options.name ?? localTag.replace(/[:@].*$/, "");
  const target = `${registry.host}/${name}:${options.tag ?? "latest"}`;
  const tagged = await runDocker(["tag", localTag, target]);
  if (tagged.code !== 0) {
    throw new Error(`Cannot tag ${localTag} as ${target}: ${tagged.stderr.trim()}`);
  }
  try {
    const pushed = await runDocker(["push", target]);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    if (pushed.code !== 0 || !digest) {
      throw new Error(
        `Cannot push ${target}: docker push said ${pushed.stdout.trim()} ${pushed.stderr.trim()}`,
      );
    }
    return `${registry.host}/${name}@${digest}`;
  } finally {
    await runDocker(["rmi", target]);
  }
}
