/**
 * The path and file URL functions mcp-run uses, with node:path's and node:url's results.
 *
 * Why not node:path itself: the first `node:` module a Deno process loads sets up Node
 * compatibility, about 8 ms, which `mcp-run run` would pay on every start of a server whose own
 * start takes about 150 ms. On POSIX systems these are small functions of our own, checked
 * against node:path and node:url on thousands of inputs (_path_test.ts); on Windows, where paths
 * have drive letters, UNC shares and two separators, they are node:path's and node:url's own.
 *
 * @module
 */

/** The functions this module provides, as node:path and node:url give them. */
interface PathFunctions {
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  normalize(path: string): string;
  isAbsolute(path: string): boolean;
  dirname(path: string): string;
  basename(path: string): string;
  fileURLToPath(url: string | URL): string;
  pathToFileURL(path: string): URL;
}

/** The segments of a path with `.` and `..` applied; `..` that climbs above a root is dropped. */
function applyDots(path: string, rooted: boolean): string {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return out.join("/");
}

function posixNormalize(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  let out = applyDots(path, rooted);
  if (out === "" && !rooted) out = ".";
  if (out !== "" && path.endsWith("/")) out += "/";
  return rooted ? `/${out}` : out;
}

function posixJoin(...parts: string[]): string {
  const joined = parts.filter((part) => part !== "").join("/");
  return joined === "" ? "." : posixNormalize(joined);
}

function posixResolve(...parts: string[]): string {
  let path = "";
  let rooted = false;
  for (let i = parts.length - 1; i >= -1 && !rooted; i--) {
    const part = i >= 0 ? parts[i] : Deno.cwd();
    if (part === "") continue;
    path = `${part}/${path}`;
    rooted = part.startsWith("/");
  }
  const out = applyDots(path, rooted);
  return rooted ? `/${out}` : out || ".";
}

function posixDirname(path: string): string {
  if (path === "") return ".";
  // The last separator before the last segment (trailing separators are not one); only that
  // one separator is cut, as node:path cuts it.
  let end = -1;
  let inSegment = false;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inSegment = true;
    else if (inSegment) {
      end = i;
      break;
    }
  }
  const rooted = path.startsWith("/");
  if (end === -1) return rooted ? "/" : ".";
  return rooted && end === 1 ? "//" : path.slice(0, end);
}

function posixBasename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}

function posixFileURLToPath(url: string | URL): string {
  const parsed = typeof url === "string" ? new URL(url) : url;
  if (parsed.protocol !== "file:") throw new TypeError("The URL must be of scheme file");
  if (parsed.hostname !== "") {
    throw new TypeError(`File URL host must be "localhost" or empty on ${Deno.build.os}`);
  }
  if (/%2f/i.test(parsed.pathname)) {
    throw new TypeError("File URL path must not include encoded / characters");
  }
  return decodeURIComponent(parsed.pathname);
}

/** Characters a URL's path setter keeps as they are but node:url encodes in a file URL. */
const PATH_CHARS: Record<string, string> = {
  "%": "%25",
  "\\": "%5C",
  "\n": "%0A",
  "\r": "%0D",
  "\t": "%09",
  "?": "%3F",
  "#": "%23",
  "~": "%7E",
  "|": "%7C",
  "^": "%5E",
  "[": "%5B",
  "]": "%5D",
};

function posixPathToFileURL(path: string): URL {
  let resolved = posixResolve(path);
  if (path.endsWith("/") && !resolved.endsWith("/")) resolved += "/";
  const url = new URL("file://");
  url.pathname = resolved.replace(/[%\\\n\r\t?#~|^[\]]/g, (c) => PATH_CHARS[c]);
  return url;
}

const POSIX: PathFunctions = {
  join: posixJoin,
  resolve: posixResolve,
  normalize: posixNormalize,
  isAbsolute: (path) => path.startsWith("/"),
  dirname: posixDirname,
  basename: posixBasename,
  fileURLToPath: posixFileURLToPath,
  pathToFileURL: posixPathToFileURL,
};

const functions: PathFunctions = Deno.build.os === "windows"
  ? { ...(await import("node:path")).win32, ...(await import("node:url")) }
  : POSIX;

/** The POSIX functions of this module, whatever the system (for tests). */
export const posixPath: Readonly<PathFunctions> = POSIX;

/** Joins path segments and normalizes the result (node:path `join`). */
export const join: (...parts: string[]) => string = functions.join;
/** Resolves segments to an absolute path, from the working folder (node:path `resolve`). */
export const resolve: (...parts: string[]) => string = functions.resolve;
/** Applies `.` and `..` and removes repeated separators (node:path `normalize`). */
export const normalize: (path: string) => string = functions.normalize;
/** Whether a path is absolute (node:path `isAbsolute`). */
export const isAbsolute: (path: string) => boolean = functions.isAbsolute;
/** The folder part of a path (node:path `dirname`). */
export const dirname: (path: string) => string = functions.dirname;
/** The last part of a path (node:path `basename`, without the extension argument). */
export const basename: (path: string) => string = functions.basename;
/** A `file:` URL's path (node:url `fileURLToPath`). */
export const fileURLToPath: (url: string | URL) => string = functions.fileURLToPath;
/** The `file:` URL of a path, made absolute first (node:url `pathToFileURL`). */
export const pathToFileURL: (path: string) => URL = functions.pathToFileURL;
