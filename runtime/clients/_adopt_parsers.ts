// The command-line parsers behind recogniseCommand(): one per launcher (npx, node, uvx, pipx,
// python -m, deno run, docker run). Each returns the package, or why it is not adoptable.
import type { AdoptPackage, RecognisedEntry } from "./adopt_entry.ts";

function adopted(pkg: Omit<AdoptPackage, "passEnv"> & { passEnv?: string[] }): RecognisedEntry {
  return { adoptable: true, package: { passEnv: [], ...pkg } };
}

/** Options of npx and npm exec that take a value. */
const NPX_VALUE_OPTIONS = new Set(["--package", "-p", "--call", "-c", "--registry", "--cache"]);

export function npxCommand(
  args: string[],
  via: string,
  env: Record<string, string>,
): RecognisedEntry {
  let packageOption: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-")) break;
    const [flag, inline] = a.split(/=(.*)/s, 2);
    if (NPX_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i];
      if (flag === "--package" || flag === "-p") packageOption = value;
      if (flag === "--call" || flag === "-c") {
        return { adoptable: false, reason: `${via} --call runs a shell command` };
      }
    }
  }
  const spec = packageOption ?? args[i];
  if (spec === undefined) return { adoptable: false, reason: `${via} names no package` };
  const rest = args.slice(i + 1);
  return npmSpec(spec, via, rest, env);
}

/** `name`, `name@1.2.3`, `@scope/name@latest`, `npm:name@1`. */
function npmSpec(
  spec: string,
  via: string,
  args: string[],
  env: Record<string, string>,
): RecognisedEntry {
  const bare = spec.replace(/^npm:/, "");
  if (/^(\.|\/|[a-z]+:|[A-Za-z]:\\)/i.test(bare) || bare.includes("://")) {
    return { adoptable: false, reason: `${via} runs "${spec}", which is not a registry package` };
  }
  const at = bare.indexOf("@", 1);
  const name = at === -1 ? bare : bare.slice(0, at);
  const wanted = at === -1 ? undefined : bare.slice(at + 1);
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) {
    return { adoptable: false, reason: `"${spec}" is not an npm package name` };
  }
  const exact = wanted !== undefined && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(wanted);
  return adopted({
    kind: "npm",
    name,
    ...(exact ? { version: wanted } : wanted === undefined ? {} : { wanted }),
    args,
    env,
    via,
  });
}

/** `node …/node_modules/[@scope/]name/…`, or a script outside any package. */
export function nodeCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  const script = args.find((a) => !a.startsWith("-"));
  if (script === undefined) return { adoptable: false, reason: "node runs no script" };
  const rest = args.slice(args.indexOf(script) + 1);
  const path = script.replaceAll("\\", "/");
  const m = /^(.*\/node_modules\/)((?:@[^/]+\/)?[^/@]+)(?:\/|$)/.exec(path);
  if (m) {
    return adopted({
      kind: "npm",
      name: m[2],
      args: rest,
      env,
      via: "node",
      installedAt: m[1] + m[2],
    });
  }
  return adopted({ kind: "local", name: script, args: rest, env, via: "node" });
}

/** Options of uvx that take a value. */
const UVX_VALUE_OPTIONS = new Set([
  "--from",
  "--with",
  "--with-requirements",
  "--python",
  "-p",
  "--index-url",
  "--extra-index-url",
  "--index",
  "--default-index",
  "--directory",
  "--env-file",
]);

export function uvxCommand(
  args: string[],
  via: string,
  env: Record<string, string>,
): RecognisedEntry {
  let from: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (flag === "--") {
      i++;
      break;
    }
    if (UVX_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i];
      if (flag === "--from") from = value;
    }
  }
  const command = args[i];
  if (command === undefined) return { adoptable: false, reason: `${via} names no tool` };
  return pypiSpec(from ?? command, via, args.slice(i + 1), env);
}

export function pipxCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let spec: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (flag === "--spec") spec = inline ?? args[++i];
    else if (["--python", "--index-url", "--pip-args"].includes(flag) && inline === undefined) i++;
  }
  const app = args[i];
  if (app === undefined) return { adoptable: false, reason: "pipx run names no application" };
  return pypiSpec(spec ?? app, "pipx run", args.slice(i + 1), env);
}

/** `name`, `name==1.2`, `name@1.2`, `name[extra]==1`, `name@latest`. */
function pypiSpec(
  spec: string,
  via: string,
  args: string[],
  env: Record<string, string>,
): RecognisedEntry {
  if (/^(git\+|https?:|file:|\.|\/)/.test(spec)) {
    return { adoptable: false, reason: `${via} installs "${spec}", which is not a PyPI release` };
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:(==|@)\s*([^\s;]+)|([<>~!=].*))?$/
    .exec(spec);
  if (!m) return { adoptable: false, reason: `"${spec}" is not a PyPI requirement` };
  const [, name, , op, pinned, range] = m;
  const exact = op !== undefined && pinned !== "latest" && !/[*]/.test(pinned);
  return adopted({
    kind: "pypi",
    name,
    ...(exact ? { version: pinned } : pinned ?? range ? { wanted: pinned ?? range } : {}),
    args,
    env,
    via,
  });
}

export function pythonCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let i = 0;
  // Interpreter flags such as -u or -X utf8 come before -m.
  for (; i < args.length && args[i] !== "-m"; i++) {
    if (!args[i].startsWith("-")) {
      return { adoptable: false, reason: `python runs the script "${args[i]}", not a module` };
    }
    if (["-X", "-W"].includes(args[i])) i++;
  }
  const module = args[i + 1];
  if (module === undefined) return { adoptable: false, reason: "python names no module (-m)" };
  // The project usually carries the module's name with dashes (mcp_server_time).
  const name = module.split(".")[0].replaceAll("_", "-");
  return adopted({
    kind: "pypi",
    name,
    args: args.slice(i + 2),
    env,
    via: "python -m",
    guessed: true,
  });
}

/** Deno options that take their value as the next argument. */
const DENO_VALUE_OPTIONS = new Set([
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--cert",
  "--location",
  "--seed",
  "--v8-flags",
  "--env-file",
  "--inspect",
]);

export function denoCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let i = args[0] === "run" ? 1 : 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    if (DENO_VALUE_OPTIONS.has(args[i])) i++;
  }
  const spec = args[i];
  if (spec === undefined) return { adoptable: false, reason: "deno runs no module" };
  const rest = args.slice(i + 1);
  if (spec.startsWith("npm:")) {
    const found = npmSpec(spec, "deno run", rest, env);
    return found;
  }
  const jsr = /^jsr:\/?(@[\w.-]+\/[\w.-]+)(?:@([^/]+))?/.exec(spec);
  if (jsr) {
    const exact = jsr[2] !== undefined && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(jsr[2]);
    return adopted({
      kind: "jsr",
      name: jsr[1],
      ...(exact ? { version: jsr[2] } : jsr[2] ? { wanted: jsr[2] } : {}),
      args: rest,
      env,
      via: "deno run",
    });
  }
  if (/^https?:/.test(spec)) {
    return { adoptable: false, reason: `deno runs a URL (${spec}), which names no package` };
  }
  return adopted({ kind: "local", name: spec, args: rest, env, via: "deno run" });
}

/** docker run options that take a value (the rest are flags). */
const DOCKER_VALUE_OPTIONS = new Set([
  "-e",
  "--env",
  "--env-file",
  "-v",
  "--volume",
  "--mount",
  "--name",
  "--network",
  "--net",
  "-w",
  "--workdir",
  "-u",
  "--user",
  "--entrypoint",
  "-p",
  "--publish",
  "-m",
  "--memory",
  "--cpus",
  "--pids-limit",
  "-l",
  "--label",
  "--platform",
  "--pull",
  "--tmpfs",
  "--add-host",
  "--security-opt",
  "--cap-add",
  "--cap-drop",
  "--ulimit",
  "--runtime",
  "-h",
  "--hostname",
  "--dns",
  "--device",
]);

export function dockerCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  if (args[0] !== "run") {
    return { adoptable: false, reason: `docker ${args[0] ?? ""} is not docker run`.trim() };
  }
  const passEnv: string[] = [];
  const values: Record<string, string> = {};
  let i = 1;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (!DOCKER_VALUE_OPTIONS.has(flag)) continue;
    const value = inline ?? args[++i] ?? "";
    if (flag === "-e" || flag === "--env") {
      const eq = value.indexOf("=");
      if (eq === -1) passEnv.push(value);
      else values[value.slice(0, eq)] = value.slice(eq + 1);
    }
    if (flag === "--entrypoint") {
      return { adoptable: false, reason: "docker run replaces the image's entrypoint" };
    }
  }
  const image = args[i];
  if (image === undefined) return { adoptable: false, reason: "docker run names no image" };
  const at = image.indexOf("@");
  const colon = image.lastIndexOf(":");
  const tagged = at === -1 && colon > image.lastIndexOf("/");
  const name = (at !== -1 ? image.slice(0, at) : tagged ? image.slice(0, colon) : image)
    .replace(/^(docker\.io\/)?(library\/)?/, "");
  const version = at !== -1 ? image.slice(at + 1) : undefined;
  const wanted = tagged ? image.slice(colon + 1) : at === -1 ? "latest" : undefined;
  // Passed-through names take their value from the entry's env or the client's environment.
  const ownEnv = { ...values };
  for (const n of passEnv) if (env[n] !== undefined) ownEnv[n] = env[n];
  return adopted({
    kind: "oci",
    name,
    ...(version ? { version } : {}),
    ...(wanted ? { wanted } : {}),
    args: args.slice(i + 1),
    env: ownEnv,
    passEnv,
    via: "docker run",
  });
}
