/** `mcp-run deploy` as users meet it: files printed or written, next commands, usage errors. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { cli, tempDir } from "./_helpers.ts";

const home = tempDir("mcp-run-deploy-home-");
const env = { HOME: home };

Deno.test("deployCommand() prints a systemd unit and its pull unit without --out", async () => {
  const r = await cli(["deploy", "time", "--target", "systemd", "-p", "timezone=Europe/Paris"], {
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# ==> mcp-run-time\.service <==$/m);
  assert.match(r.stdout, /^# ==> mcp-run-time-pull\.service <==$/m);
  assert.match(
    r.stdout,
    /^ExecStart=\/usr\/local\/bin\/mcp-run serve time -p timezone=Europe\/Paris --host 127\.0\.0\.1 --port 8808 --max-sessions 4 --offline$/m,
  );
  assert.match(
    r.stdout,
    /^ExecStart=\/usr\/local\/bin\/mcp-run pull time -p timezone=Europe\/Paris$/m,
  );
  assert.match(r.stdout, /^IPAddressDeny=any$/m);
});

Deno.test("deployCommand() writes the files, prints the next commands, never overwrites", async () => {
  const out = join(tempDir(), "deploy");
  const token = join(home, "token");
  await Deno.writeTextFile(token, "t".repeat(64) + "\n", { mode: 0o600 });
  const cases = [
    {
      args: ["--target", "systemd", "--host", "0.0.0.0", "--token-file", token],
      extra: ["--client-address", "192.0.2.0/24"],
      files: ["mcp-run-time.service", "mcp-run-time-pull.service"],
      next: /sudo systemctl enable --now mcp-run-time\.service/,
    },
    {
      args: ["--target", "compose", "--token-file", token],
      extra: [],
      files: ["compose.yaml"],
      next: /docker compose -p mcp-run-time -f \S+\/compose\.yaml up -d/,
    },
    {
      args: ["--target", "kubernetes", "--deploy-image", "registry.example/mcp-run:0.1.0"],
      extra: [],
      files: ["mcp-run-time.yaml"],
      next: /kubectl apply -f \S+\/mcp-run-time\.yaml/,
    },
  ];
  for (const { args, extra, files, next } of cases) {
    const r = await cli(["deploy", "time", ...args, ...extra, "--out", out], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const file of files) {
      assert.match(r.stdout, new RegExp(`wrote .*/${file.replaceAll(".", "\\.")}`));
      assert.equal((await Deno.stat(join(out, file))).mode! & 0o777, 0o644);
    }
    assert.match(r.stdout, next);
    // The same again: refused, the file kept.
    const before = await Deno.readTextFile(join(out, files[0]));
    const again = await cli(["deploy", "time", ...args, ...extra, "--port", "9000", "--out", out], {
      env,
    });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /it exists; give --force to replace it/);
    assert.equal(await Deno.readTextFile(join(out, files[0])), before);
  }
  const compose = parse(await Deno.readTextFile(join(out, "compose.yaml")));
  // A copy in the deployment's folder, made the container user's by the printed step.
  assert.deepEqual(compose.secrets, { "mcp-run-token": { file: "./token" } });
  const k8s = parseAllDocuments(await Deno.readTextFile(join(out, "mcp-run-time.yaml")));
  const deployment = k8s.map((doc) => doc.toJS()).find((doc) => doc.kind === "Deployment");
  assert.equal(deployment.spec.template.spec.containers[0].image, "registry.example/mcp-run:0.1.0");
});

Deno.test("deployCommand() with --force replaces a link rather than writing through it", async () => {
  const dir = tempDir();
  const victim = join(dir, "victim");
  await Deno.writeTextFile(victim, "keep");
  await Deno.symlink(victim, join(dir, "compose.yaml"));
  const args = ["deploy", "time", "--target", "compose", "--public", "--tools", "get_time"];
  const r = await cli([...args, "--out", dir, "--force"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(victim), "keep");
  assert.ok((await Deno.lstat(join(dir, "compose.yaml"))).isFile);
  assert.match(await Deno.readTextFile(join(dir, "compose.yaml")), /- --public/);
});

Deno.test("deployCommand() hands the OAuth passphrase over from the state root", async () => {
  const state = tempDir();
  const r = await cli([
    "deploy",
    "time",
    "--target",
    "systemd",
    "--host",
    "0.0.0.0",
    "--trust-proxy",
    "127.0.0.1",
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    state,
  ], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^LoadCredential=passphrase:${state}/passphrase$`, "m"));
  assert.match(r.stdout, /--auth oauth --public-url https:\/\/mcp\.example\.com\/mcp --state-dir /);
  // Not set yet: said so, with the command that sets it.
  assert.match(r.stderr, /does not exist yet.*mcp-run serve --set-passphrase --state-dir/);
  // The default state root follows XDG_STATE_HOME.
  const xdg = await cli([
    "deploy",
    "time",
    "--target",
    "compose",
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
  ], { env: { ...env, XDG_STATE_HOME: state } });
  assert.equal(xdg.code, 0, xdg.stderr);
  // compose reads a copy in the deployment's folder; the one to copy is named.
  assert.match(xdg.stdout, /file: \.\/passphrase$/m);
  assert.match(xdg.stderr, new RegExp(`"${state}/mcp-run/passphrase" does not exist yet`));
});

Deno.test("deployCommand() refuses bad command lines with exit 2, saying what to give", async () => {
  const cases: [string[], RegExp][] = [
    [["deploy", "time"], /give --target systemd\|kubernetes\|compose/],
    [["deploy", "time", "--target", "k8s"], /--target must be systemd, kubernetes or compose/],
    [["deploy", "time", "--target", "compose", "--image", "x:1"], /--image is not an option/],
    [["deploy", "time", "--target", "systemd", "--deploy-image", "x:1"], /needs --target compose/],
    [["deploy", "time", "--target", "compose", "--deploy-image", "x"], /--deploy-image/],
    [["deploy", "time", "--target", "systemd", "--", "--x"], /cannot pass server arguments/],
    [["deploy", "time", "--target", "systemd", "--egress-address", "x"], /NAME=CIDR/],
    [["deploy", "time", "--target", "systemd", "--auth", "magic"], /--auth must be/],
    [["deploy", "time", "--target", "systemd", "--port", "0"], /--port must be/],
    [["deploy", "time", "--target", "compose"], /without authentication/],
    [["deploy", "time", "--target", "systemd", "--auth", "oauth"], /--public-url/],
    [["deploy", "time", "--target", "systemd", "--host", "0.0.0.0"], /without authentication/],
    [["deploy", "time", "--target", "systemd", "--bogus"], /unknown option --bogus/],
    [
      ["deploy", "time", "--target", "compose", "--program", "/x/mcp-run"],
      /needs --target systemd/,
    ],
    [["deploy", "time", "--target", "systemd", "--program", "mcp-run"], /absolute path/],
    [["deploy", "time", "--target", "systemd", "--egress-rate", "10mbit"], /no per-unit egress/],
    [
      ["deploy", "time", "--target", "kubernetes", "--egress-rate", "fast"],
      /Cannot cap egress at "fast"/,
    ],
    [["deploy", "time", "--target", "systemd", "--max-sessions", "x"], /--max-sessions must be/],
    [["deploy", "time", "--target", "systemd", "--audit", "/var/log/a"], /--audit takes a file/],
    [
      ["deploy", "time", "--target", "systemd", "--public", "--host", "0.0.0.0", "--tools", "x"],
      /--client-address ADDR/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args, { env });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, args.join(" "));
  }
});

Deno.test("mcp-run deploy --help describes every target", async () => {
  const r = await cli(["deploy", "--help"], { env });
  assert.equal(r.code, 0);
  for (const word of ["systemd", "kubernetes", "compose", "--deploy-image", "--egress-address"]) {
    assert.ok(r.stdout.includes(word), word);
  }
});

Deno.test("deployCommand() says so, exit 1, when --out is a file or cannot be written", async () => {
  const file = join(tempDir(), "deploy.txt");
  await Deno.writeTextFile(file, "mine\n");
  const r = await cli(["deploy", "time", "--target", "systemd", "--out", file], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /"[^"]*deploy\.txt": it is a file, not a folder; give --out a folder/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  assert.equal(await Deno.readTextFile(file), "mine\n");
  const below = await cli(["deploy", "time", "--target", "systemd", "--out", `${file}/sub`], {
    env,
  });
  assert.equal(below.code, 1, below.stderr);
  assert.match(below.stderr, /Cannot write into "[^"]*deploy\.txt\/sub"/);
  assert.doesNotMatch(below.stderr, /at .*\.ts:\d+/);
});

Deno.test("deployCommand() runs the --program it is given and prints how to install it", async () => {
  const out = join(tempDir(), "deploy");
  const r = await cli([
    "deploy",
    "time",
    "--target",
    "systemd",
    "--program",
    "/opt/mcp/bin/mcp-run",
    "--out",
    out,
  ], { env });
  assert.equal(r.code, 0, r.stderr);
  const unit = await Deno.readTextFile(join(out, "mcp-run-time.service"));
  assert.match(unit, /^ExecStart=\/opt\/mcp\/bin\/mcp-run serve time /m);
  const steps = r.stdout.slice(r.stdout.indexOf("Then run:"));
  assert.match(steps, /^ {2}sudo tools\/install\.sh \/opt\/mcp /m);
  // Installed before the units start.
  assert.ok(steps.indexOf("tools/install.sh") < steps.indexOf("systemctl enable"));
});

Deno.test("deployCommand() passes serve's limits and audit log on, and the k8s egress rate", async () => {
  const r = await cli([
    "deploy",
    "time",
    "--target",
    "systemd",
    ...["--exclude-tools", "x", "--max-sessions", "4", "--rate-limit", "60"],
    ...["--idle-timeout", "300", "--request-timeout", "20", "--audit", "audit.jsonl"],
  ], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      "^ExecStart=.* --exclude-tools x --max-sessions 4 --rate-limit 60 --idle-timeout 300 " +
        "--request-timeout 20 --audit /var/lib/mcp-run-time/audit\\.jsonl --offline$",
      "m",
    ),
  );
  const k8s = await cli([
    "deploy",
    "time",
    "--target",
    "kubernetes",
    "--egress-rate",
    "10mbit",
    "--audit",
    "audit.jsonl",
  ], { env });
  assert.equal(k8s.code, 0, k8s.stderr);
  const deployment = parseAllDocuments(k8s.stdout).map((d) => d.toJSON())
    .find((o) => o?.kind === "Deployment");
  assert.equal(
    deployment.spec.template.metadata.annotations["kubernetes.io/egress-bandwidth"],
    "10000000",
  );
  assert.ok(deployment.spec.template.spec.containers[0].args.includes("/state/audit.jsonl"));
});

Deno.test("deployCommand() sets the whole service's memory, CPUs and tasks", async () => {
  const limits = ["--memory", "3g", "--cpus", "2", "--pids-limit", "500"];
  const systemd = await cli(["deploy", "time", "--target", "systemd", ...limits], { env });
  assert.equal(systemd.code, 0, systemd.stderr);
  assert.match(systemd.stdout, /^MemoryMax=3072M$/m);
  assert.match(systemd.stdout, /^CPUQuota=200%$/m);
  assert.match(systemd.stdout, /^TasksMax=500$/m);
  const compose = await cli(
    ["deploy", "time", "--target", "compose", "--public", "--tools", "get_time", ...limits],
    { env },
  );
  assert.equal(compose.code, 0, compose.stderr);
  const svc = parse(compose.stdout.replace(/^#.*$/gm, "")).services["mcp-run"];
  assert.equal(svc.mem_limit, "3072m");
  assert.equal(svc.cpus, "2");
  assert.equal(svc.pids_limit, 500);
  const k8s = await cli(
    ["deploy", "time", "--target", "kubernetes", "--memory", "3072m", "--cpus", "0.5"],
    { env },
  );
  assert.equal(k8s.code, 0, k8s.stderr);
  const deployment = parseAllDocuments(k8s.stdout).map((d) => d.toJSON())
    .find((o) => o?.kind === "Deployment");
  assert.deepEqual(deployment.spec.template.spec.containers[0].resources.limits, {
    memory: "3072Mi",
    cpu: "0.5",
  });
  const refused = await cli(["deploy", "time", "--target", "kubernetes", "--pids-limit", "9"], {
    env,
  });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--pids-limit is for systemd and compose/);
  const bad = await cli(["deploy", "time", "--target", "systemd", "--memory", "lots"], { env });
  assert.match(bad.stderr, /Cannot use "lots" as --memory: give a size such as 512m/);
});

Deno.test("serve --auth oauth names a passphrase file that is not the hash file, and the fix", async () => {
  const state = tempDir();
  // What a new user puts in a Kubernetes Secret by mistake: the passphrase itself.
  await Deno.writeTextFile(join(state, "passphrase"), "correct horse battery staple\n", {
    mode: 0o600,
  });
  const r = await cli([
    "serve",
    "time",
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    state,
  ], { env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${state}/passphrase is not a passphrase file`));
  assert.match(r.stderr, /the hash that mcp-run serve --set-passphrase writes/);
  assert.match(r.stderr, new RegExp(`mcp-run serve --set-passphrase --state-dir ${state}$`, "m"));
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});
