/**
 * A small npm-compatible registry for tests, served on loopback: the packuments and tarballs of
 * packages built in memory, and a record of every request (so it doubles as a canary that
 * proves whether anything resolved packages through it).
 *
 * - `GET /<name>` (`/@scope%2fname` too): `{ name, "dist-tags": { latest }, versions }`, each
 *   version with `dist.tarball` and `dist.integrity` (`sha512-…`), which Deno checks.
 * - `GET /-/<name>/<name>-<v>.tgz`: the gzipped tarball, files under `package/`.
 *
 * Requires `--allow-net=127.0.0.1`.
 *
 * @module
 */

/** A running registry. */
export interface NpmRegistry {
  /** Base URL with a trailing slash, for `NPM_CONFIG_REGISTRY`. */
  url: string;
  /** Requests so far (`"GET /path"`), for assertions. */
  requests: string[];
  /**
   * Serves a package version from now on.
   *
   * @param name Package name (lower case).
   * @param version Exact version.
   * @param files Files by path inside the package (`index.js`); `package.json` is added.
   */
  add(name: string, version: string, files: Record<string, string>): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Builds a ustar archive of regular files.
 *
 * @param files Contents by path (at most 100 characters each).
 * @returns The uncompressed tar bytes.
 */
export function writeTar(files: Record<string, Uint8Array>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [path, body] of Object.entries(files)) {
    const header = new Uint8Array(512);
    const put = (offset: number, text: string) => header.set(encoder.encode(text), offset);
    const octal = (value: number, width: number) =>
      value.toString(8).padStart(width - 1, "0") + "\0";
    put(0, path);
    put(100, octal(0o644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(body.byteLength, 12));
    put(136, octal(0, 12));
    put(148, "        ");
    put(156, "0");
    put(257, "ustar\0");
    put(263, "00");
    const sum = header.reduce((a, b) => a + b, 0);
    put(148, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(header, body, new Uint8Array((512 - (body.byteLength % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.byteLength;
  }
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Starts an npm-compatible registry on 127.0.0.1 at a random port.
 *
 * @returns The running registry; call `close()` when done.
 * @example
 * ```ts ignore
 * const registry = await startNpmRegistry();
 * await registry.add("hello-fixture", "1.0.0", { "index.js": "console.log('hi')" });
 * // NPM_CONFIG_REGISTRY=${registry.url} deno run npm:hello-fixture@1.0.0
 * await registry.close();
 * ```
 */
export function startNpmRegistry(): Promise<NpmRegistry> {
  const requests: string[] = [];
  const tarballs = new Map<string, Uint8Array>();
  const packuments = new Map<string, { versions: Record<string, unknown>; latest: string }>();
  let base = "";

  function handler(request: Request): Response {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(`${request.method} ${path}`);
    const tarball = tarballs.get(path);
    if (tarball) return new Response(tarball as Uint8Array<ArrayBuffer>);
    const packument = packuments.get(path.slice(1));
    if (packument) {
      const name = path.slice(1);
      return Response.json({
        name,
        "dist-tags": { latest: packument.latest },
        versions: packument.versions,
      });
    }
    return Response.json({ error: "Not found" }, { status: 404 });
  }

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen({ port }) {
        base = `http://127.0.0.1:${port}/`;
        resolve({
          url: base,
          requests,
          async add(name, version, files) {
            const manifest = { name, version, main: "index.js" };
            const entries: Record<string, Uint8Array> = {
              "package/package.json": encoder.encode(JSON.stringify(manifest)),
            };
            for (const [file, text] of Object.entries(files)) {
              entries[`package/${file}`] = encoder.encode(text);
            }
            const tgz = await gzip(writeTar(entries));
            const digest = new Uint8Array(
              await crypto.subtle.digest("SHA-512", tgz as Uint8Array<ArrayBuffer>),
            );
            const file = `/-/${name}/${name.split("/").pop()}-${version}.tgz`;
            tarballs.set(file, tgz);
            const entry = packuments.get(name) ?? { versions: {}, latest: version };
            entry.versions[version] = {
              ...manifest,
              dist: {
                tarball: new URL(file.slice(1), base).href,
                integrity: `sha512-${btoa(String.fromCharCode(...digest))}`,
              },
            };
            entry.latest = version;
            packuments.set(name, entry);
          },
          close: () => server.shutdown(),
        });
      },
    }, handler);
  });
}
