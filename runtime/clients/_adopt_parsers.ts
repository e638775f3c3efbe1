// The command-line parsers behind recogniseCommand(): one per launcher (npx, node, uvx, pipx,
// python -m, deno run, docker run). Each returns the package, or why it is not adoptable.
import type { AdoptPackage, RecognisedEntry } from "./adopt_entry.ts";

function adopted(pkg: Omit<AdoptPackage, "passEnv"> & { passEnv?: string[] }): RecognisedEntry {
  return { adoptable: true, package: { passEnv: [], ...pkg } };
}

/** The options a launcher knows: which take a value and which are flags. */
interface OptionTable {
  /** Options whose value may be the next word (`--from x` or `--from=x`). */
  values: Set<string>;
  /** Options that take no value, or take one only after "=" (Deno's `--inspect=…`). */
  flags: Set<string>;
  /** Further flags by shape (Deno's `--allow-*`), for families too long to list. */
  flagPattern?: RegExp;
  /** Single-letter flags that may be bundled (`docker run -it`). */
  bundled?: string;
}

/** Where the options end, and the value of each value-taking option, in order. */
interface WalkedOptions {
  /** Index of the first word that is not an option (after a `--`, if any). */
  next: number;
  /** Each value-taking option and its value. */
  values: [string, string][];
}

function words(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter((w) => w !== ""));
}

/**
 * Walk the options before the package: a word the table does not know is a reason, not a guess,
 * since a value-taking option read as a flag makes its value look like the package.
 */
function walkOptions(
  args: string[],
  start: number,
  table: OptionTable,
  via: string,
): WalkedOptions | string {
  const values: [string, string][] = [];
  let i = start;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    if (args[i] === "--") return { next: i + 1, values };
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (table.values.has(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined) return `${via} ${flag} has no value`;
      values.push([flag, value]);
    } else if (
      !table.flags.has(flag) && !table.flagPattern?.test(flag) &&
      !(inline === undefined && isBundle(flag, table.bundled))
    ) {
      return `cannot tell which word is the package: ${via} has the unknown option ${flag}`;
    }
  }
  return { next: i, values };
}

function isBundle(flag: string, letters: string | undefined): boolean {
  return letters !== undefined && /^-[A-Za-z]{2,}$/.test(flag) &&
    [...flag.slice(1)].every((c) => letters.includes(c));
}

/** Options of npx, npm exec, pnpm dlx and bunx before the package. */
const NPX_OPTIONS: OptionTable = {
  values: words(`--package -p --call -c --registry --cache --loglevel --userconfig --prefix
    --workspace -w --node-options --script-shell --before --include --omit`),
  flags: words(`-y --yes --no --no-yes --no-install --ignore-existing -q --quiet -s --silent
    --prefer-offline --prefer-online --offline --workspaces -ws --include-workspace-root
    --verbose -d -dd -ddd --bun --foreground-scripts`),
};

export function npxCommand(
  args: string[],
  via: string,
  env: Record<string, string>,
): RecognisedEntry {
  const walked = walkOptions(args, 0, NPX_OPTIONS, via);
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  if (walked.values.some(([flag]) => flag === "--call" || flag === "-c")) {
    return { adoptable: false, reason: `${via} --call runs a shell command` };
  }
  const packageOption = walked.values.findLast(([f]) => f === "--package" || f === "-p")?.[1];
  const i = walked.next;
  if (packageOption === undefined) {
    const spec = args[i];
    if (spec === undefined) return { adoptable: false, reason: `${via} names no package` };
    return npmSpec(spec, via, args.slice(i + 1), env);
  }
  // With --package the next word is the command to run: one of the package's bins.
  const bin = args[i];
  const found = npmSpec(packageOption, via, args.slice(i + 1), env);
  if (!found.adoptable || bin === undefined) return found;
  if (!/^[\w@.-]+$/.test(bin)) {
    return { adoptable: false, reason: `${via} runs "${bin}", which is not a bin of a package` };
  }
  return { adoptable: true, package: { ...found.package, bin } };
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
/** Options of node before the script. */
const NODE_OPTIONS: OptionTable = {
  values: words(`-r --require --import --loader --experimental-loader --env-file
    --env-file-if-exists --conditions -C --input-type --stack-size --title --eval -e --print -p`),
  flags: words(`--enable-source-maps --inspect --inspect-brk --inspect-wait --preserve-symlinks
    --preserve-symlinks-main --pending-deprecation --throw-deprecation --trace-warnings
    --abort-on-uncaught-exception --use-openssl-ca --use-system-ca --watch --expose-gc`),
  flagPattern: /^--(no|experimental|max|trace|unhandled|dns-result|tls|openssl)-[a-z0-9-]+$/,
};

export function nodeCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  const walked = walkOptions(args, 0, NODE_OPTIONS, "node");
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  if (walked.values.some(([f]) => ["--eval", "-e", "--print", "-p"].includes(f))) {
    return { adoptable: false, reason: "node runs code given on its command line (--eval)" };
  }
  const script = args[walked.next];
  if (script === undefined) return { adoptable: false, reason: "node runs no script" };
  const rest = args.slice(walked.next + 1);
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

/** Options of uvx and uv tool run before the tool. */
const UVX_OPTIONS: OptionTable = {
  values: words(`--from --with --with-requirements --with-editable --python -p --index-url
    --extra-index-url --index --default-index --directory --project --env-file --cache-dir
    --config-file --color --prerelease --resolution --exclude-newer --index-strategy
    --keyring-provider --python-preference --link-mode --refresh-package --reinstall-package
    --upgrade-package -P --find-links -f --constraints --overrides --build-constraints
    --allow-insecure-host --config-setting -C --no-binary-package --no-build-package`),
  flags: words(`--isolated --offline --no-cache -n --refresh -q --quiet -v --verbose
    --native-tls --no-progress -U --upgrade --reinstall --no-python-downloads --managed-python
    --no-managed-python --no-config --no-build --no-binary --no-sources --compile-bytecode
    --no-index --show-resolution --no-env-file --preview --no-preview`),
};

export function uvxCommand(
  args: string[],
  via: string,
  env: Record<string, string>,
): RecognisedEntry {
  const walked = walkOptions(args, 0, UVX_OPTIONS, via);
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  const from = walked.values.findLast(([flag]) => flag === "--from")?.[1];
  const command = args[walked.next];
  if (command === undefined) return { adoptable: false, reason: `${via} names no tool` };
  return pypiSpec(from ?? command, via, args.slice(walked.next + 1), env);
}

/** Options of pipx run before the application. */
const PIPX_OPTIONS: OptionTable = {
  values: words("--spec --python --index-url -i --pip-args --backend"),
  flags: words(`--no-cache --pypackages --verbose -v --quiet -q --system-site-packages
    --editable -e --fetch-missing-python --path`),
};

export function pipxCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  const walked = walkOptions(args, 0, PIPX_OPTIONS, "pipx run");
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  const spec = walked.values.findLast(([flag]) => flag === "--spec")?.[1];
  const app = args[walked.next];
  if (app === undefined) return { adoptable: false, reason: "pipx run names no application" };
  return pypiSpec(spec ?? app, "pipx run", args.slice(walked.next + 1), env);
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

/**
 * Options of deno run before the module. Deno takes the value of `--inspect`, `--env-file`,
 * `--lock`, `--v8-flags` and the permission options only after "=", so they never take the
 * next word.
 */
const DENO_OPTIONS: OptionTable = {
  values: words(`--config -c --import-map --cert --location --seed --ext --log-level -L
    --preload --require --conditions`),
  flags: words(`-A -R -W -N -E -S -P --permission-set -q --quiet --no-prompt --no-check --check
    -r --reload --cached-only --no-remote --no-npm --no-config --no-lock --frozen
    --node-modules-dir --vendor --watch --watch-hmr --no-clear-screen --watch-exclude --inspect
    --inspect-brk --inspect-wait --env-file --lock --v8-flags --no-code-cache
    --unsafely-ignore-certificate-errors`),
  flagPattern: /^--(allow|deny|unstable)(-[a-z0-9-]+)?$/,
};

export function denoCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  const walked = walkOptions(args, args[0] === "run" ? 1 : 0, DENO_OPTIONS, "deno run");
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  const i = walked.next;
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

/** Options of docker run before the image. */
const DOCKER_OPTIONS: OptionTable = {
  values: words(`-e --env --env-file -v --volume --mount --name --network --net -w --workdir -u
    --user --entrypoint -p --publish -m --memory --cpus --pids-limit -l --label --platform
    --pull --tmpfs --add-host --security-opt --cap-add --cap-drop --ulimit --runtime -h
    --hostname --dns --device -a --attach --shm-size --log-driver --log-opt --ipc --pid --uts
    --userns --cgroupns --cgroup-parent --restart --stop-signal --stop-timeout --health-cmd
    --health-interval --health-retries --health-timeout --health-start-period
    --health-start-interval --memory-swap --memory-reservation --kernel-memory --cpu-shares -c
    --cpu-period --cpu-quota --cpuset-cpus --cpuset-mems --blkio-weight --blkio-weight-device
    --device-cgroup-rule --device-read-bps --device-write-bps --device-read-iops
    --device-write-iops --dns-option --dns-opt --dns-search --domainname --expose --group-add
    --gpus --ip --ip6 --isolation --link --link-local-ip --mac-address --network-alias
    --label-file --oom-score-adj --storage-opt --sysctl --volume-driver --volumes-from
    --annotation --cidfile --memory-swappiness --cpu-rt-runtime --cpu-rt-period --detach-keys`),
  flags: words(`-i --interactive -t --tty -d --detach --rm --init --privileged --read-only -P
    --publish-all --sig-proxy --no-healthcheck --oom-kill-disable -q --quiet
    --disable-content-trust --use-api-socket`),
  bundled: "itdPq",
};

/** Options whose effect an adopted entry does not keep: the manifest decides both. */
const NOT_CARRIED: Record<string, string> = {
  "-v": "the manifest decides which folders the server may use",
  "--volume": "the manifest decides which folders the server may use",
  "--mount": "the manifest decides which folders the server may use",
  "--volumes-from": "the manifest decides which folders the server may use",
  "--env-file": "the manifest decides the server's environment, and the file is not read",
  "--label-file": "the sandbox labels its own containers",
};

export function dockerCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  if (args[0] !== "run") {
    return { adoptable: false, reason: `docker ${args[0] ?? ""} is not docker run`.trim() };
  }
  const walked = walkOptions(args, 1, DOCKER_OPTIONS, "docker run");
  if (typeof walked === "string") return { adoptable: false, reason: walked };
  const passEnv: string[] = [];
  const values: Record<string, string> = {};
  const notes: string[] = [];
  for (const [flag, value] of walked.values) {
    if (flag === "--entrypoint") {
      return { adoptable: false, reason: "docker run replaces the image's entrypoint" };
    }
    if (flag === "-e" || flag === "--env") {
      const eq = value.indexOf("=");
      if (eq === -1) passEnv.push(value);
      else values[value.slice(0, eq)] = value.slice(eq + 1);
    } else if (NOT_CARRIED[flag] !== undefined) {
      notes.push(`docker run ${flag} ${value} is not carried over: ${NOT_CARRIED[flag]}`);
    }
  }
  const i = walked.next;
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
    ...(notes.length > 0 ? { notes } : {}),
  });
}
