/**
 * Security proofs, native mode: server-side request forgery (SECURITY.md invariant 4). Every
 * canary is a loopback listener counting hits; no test sends traffic anywhere else. Host names
 * resolve to loopback only inside a private mount namespace with its own /etc/hosts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";
import {
  assertAllowed,
  assertDenied,
  attackerManifest,
  CAN_UNSHARE,
  type Canary,
  denoWithHosts,
  launch,
  type ManifestSpec,
  MOD,
  type Outcome,
  prePull,
  removeOnExit,
  startCanary,
  writeManifest,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-net-"));
await prePull(attackerManifest(), root);

/** Network grants come from the user's `upstream` host parameter. */
const upstream = (net: string[] = []): ManifestSpec => ({
  parameters: { upstream: { type: "host[]", description: "Hosts", required: false } },
  permissions: { net: [...net, "${upstream}"] },
});

async function withCanary(fn: (canary: Canary) => Promise<void>): Promise<void> {
  const canary = startCanary();
  try {
    await fn(canary);
  } finally {
    await canary.close();
  }
}

Deno.test("a sandboxed server reaches no loopback address by any literal spelling", async () => {
  await withCanary(async (canary) => {
    const p = canary.port;
    const sameAddress = [
      `http://127.0.0.1:${p}/dotted`,
      `http://127.1:${p}/short`,
      `http://2130706433:${p}/decimal`,
      `http://0x7f000001:${p}/hex`,
      `http://0177.0.0.1:${p}/octal`,
      `http://[::ffff:127.0.0.1]:${p}/mapped`,
    ];
    const otherAddress = [
      `http://0.0.0.0:${p}/zero`,
      `http://[::1]:${p}/v6`,
      `http://[::]:${p}/v6any`,
      `http://localhost:${p}/localhost`,
      `http://127.0.0.2:${p}/other`,
    ];
    const sockets = ["127.0.0.1", "0.0.0.0", "::1", "localhost"];
    {
      // The manifest grants a public range and a wildcard: neither covers loopback.
      const manifest = attackerManifest({
        permissions: { net: ["192.0.2.0/24", "*.example.com"] },
      });
      await using attack = await launch(manifest, { root });
      for (const url of [...sameAddress, ...otherAddress]) {
        assertDenied(await attack.call("fetch", { url }), url);
      }
      for (const hostname of sockets) {
        assertDenied(await attack.call("connect", { hostname, port: p }), `connect ${hostname}`);
      }
    }
    assert.deepEqual(canary.hits, []);

    // Positive control: the user grants 127.0.0.1:PORT. Every spelling of that address lands
    // (URL parsing normalizes them), other loopback addresses stay closed.
    await using attack = await launch(attackerManifest(upstream()), {
      root,
      params: { upstream: [`127.0.0.1:${p}`] },
    });
    for (const url of sameAddress) {
      assert.deepEqual(assertAllowed(await attack.call("fetch", { url }), url), {
        status: 200,
        body: "canary",
      });
    }
    for (const url of otherAddress) assertDenied(await attack.call("fetch", { url }), url);
    assert.match(
      String(
        assertAllowed(await attack.call("connect", { hostname: "127.0.0.1", port: p }), "tcp"),
      ),
      /200 OK/,
    );
    for (const hostname of sockets.slice(1)) {
      assertDenied(await attack.call("connect", { hostname, port: p }), `connect ${hostname}`);
    }
    assert.deepEqual(canary.hits.sort(), [
      "v4 /connect",
      "v4 /decimal",
      "v4 /dotted",
      "v4 /hex",
      "v4 /mapped",
      "v4 /octal",
      "v4 /short",
    ]);
  });
});

Deno.test("a redirect from a granted address cannot lead the server to another one", async () => {
  await withCanary((granted) =>
    withCanary(async (target) => {
      const t = target.port;
      const hops = [`http://127.0.0.1:${t}/x`, `http://localhost:${t}/x`, `http://[::1]:${t}/x`];
      const via = (to: string) =>
        `http://127.0.0.1:${granted.port}/redirect?to=${encodeURIComponent(to)}`;
      {
        await using attack = await launch(attackerManifest(upstream()), {
          root,
          params: { upstream: [`127.0.0.1:${granted.port}`] },
        });
        for (const hop of hops) assertDenied(await attack.call("fetch", { url: via(hop) }), hop);
      }
      assert.equal(granted.hits.length, 3); // the first hop did land
      assert.deepEqual(target.hits, []);
      // Positive control: with the second address granted too, the redirect lands there.
      await using attack = await launch(attackerManifest(upstream()), {
        root,
        params: { upstream: [`127.0.0.1:${granted.port}`, `127.0.0.1:${t}`] },
      });
      assertAllowed(await attack.call("fetch", { url: via(hops[0]) }), "redirect");
      assert.deepEqual(target.hits, ["v4 /x"]);
    })
  );
});

Deno.test("the launcher's proxy variables never reach the server", async () => {
  await withCanary(async (proxy) => {
    // A granted address with nothing listening: direct requests fail; proxied ones would land.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const proxyUrl = `http://[::1]:${proxy.port}`;
    const proxyEnv = {
      HTTP_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      HTTPS_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      ALL_PROXY: proxyUrl,
      all_proxy: proxyUrl,
    };
    const url = `http://127.0.0.1:${closed}/through-proxy`;
    // The proxy's address is granted too (Deno checks a proxy's address against the grants), so
    // only the environment decides whether requests go through it.
    const params = { upstream: [`127.0.0.1:${closed}`, `[::1]:${proxy.port}`] };
    {
      await using attack = await launch(attackerManifest(upstream()), {
        root,
        params,
        source: proxyEnv,
      });
      const outcome: Outcome = await attack.call("fetch", { url });
      assert.equal(outcome.ok, false);
      assert.match((outcome as { error: string }).error, /Connection refused/);
    }
    assert.deepEqual(proxy.hits, []);
    // Positive control: had the variable reached the sandboxed server, its request would have
    // gone through the proxy.
    await using attack = await launch(attackerManifest(upstream()), {
      root,
      params,
      planEnv: { HTTP_PROXY: proxyUrl },
    });
    assertAllowed(await attack.call("fetch", { url }), "proxied fetch");
    assert.deepEqual(proxy.hits, ["v6 /through-proxy"]);
  });
});

Deno.test("a sandboxed server cannot import code from a granted address", async () => {
  await withCanary(async (canary) => {
    await using attack = await launch(attackerManifest(upstream()), {
      root,
      params: { upstream: [`127.0.0.1:${canary.port}`] },
    });
    const url = `http://127.0.0.1:${canary.port}/exfil.js?data=secret`;
    assertDenied(await attack.call("import", { specifier: url }), "import()");
    assert.deepEqual(canary.hits, []);
    // Positive control: the same URL is reachable with fetch.
    assertAllowed(await attack.call("fetch", { url }), "fetch");
    assert.deepEqual(canary.hits, ["v4 /exfil.js"]);
  });
});

const HOSTS = Deno.readTextFileSync("/etc/hosts");

function hostsFile(dir: string, lines: string): string {
  const file = join(dir, "hosts");
  Deno.writeTextFileSync(file, `${HOSTS}\n${lines}\n`);
  return file;
}

Deno.test({
  name: "a granted name that resolves to a private address is refused before launch",
  ignore: !CAN_UNSHARE,
  fn: async () => {
    await withCanary(async (canary) => {
      const p = canary.port;
      const dir = removeOnExit(tempDir());
      const hosts = hostsFile(
        dir,
        [
          "127.0.0.1 canary.test",
          "::ffff:127.0.0.1 mapped.test",
          "::1 six.test",
          "169.254.169.254 metadata.test",
          "fd00::5 ula.test",
        ].join("\n"),
      );
      const call = (file: string, tool: string, args: unknown, params: string[] = []) =>
        denoWithHosts(hosts, [
          "run",
          "-A",
          "--quiet",
          MOD,
          "call",
          file,
          tool,
          JSON.stringify(args),
          "--cache",
          root,
          "--yes", // each manifest asks for another host; approval is not under test here
          ...params,
        ]);
      const cases: [string, string, string][] = [
        ["canary.test", "127.0.0.1", "fetch"],
        ["mapped.test", "::ffff:127.0.0.1", "fetch"],
        ["six.test", "::1", "fetch"],
        // Tools that send nothing: if the check failed, no packet would leave loopback.
        ["metadata.test", "169.254.169.254", "pid"],
        ["ula.test", "fd00::5", "pid"],
      ];
      for (const [name, address, tool] of cases) {
        const file = writeManifest(dir, upstream([`${name}:${p}`]), `${name}.jsonc`);
        const r = await call(file, tool, { url: `http://${name}:${p}/${name}` });
        assert.equal(r.code, 3, `${name}: ${r.stderr}`);
        assert.ok(
          r.stderr.includes(`Cannot grant network access to "${name}": it resolves to ${address}`),
          r.stderr,
        );
      }
      assert.deepEqual(canary.hits, []);

      // Positive control: the user grants the address, and the same name now reaches the canary.
      const file = writeManifest(dir, upstream([`canary.test:${p}`, `mapped.test:${p}`]));
      const grant = ["-p", `upstream=127.0.0.1:${p}`];
      for (const name of ["canary.test", "mapped.test"]) {
        const r = await call(file, "fetch", { url: `http://${name}:${p}/${name}` }, grant);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout).value, { status: 200, body: "canary" });
      }
      assert.deepEqual(canary.hits, ["v4 /canary.test", "v4 /mapped.test"]);
    });
  },
});

Deno.test({
  name: "a granted name rebound to loopback after launch is stopped by the deny list",
  ignore: !CAN_UNSHARE,
  fn: async () => {
    await withCanary(async (canary) => {
      const p = canary.port;
      const dir = removeOnExit(tempDir());
      // 192.0.2.10 (TEST-NET-1) passes the launch check; every step rebinds before any request.
      const hosts = hostsFile(dir, "192.0.2.10 rebind.test");
      const manifest = writeManifest(dir, upstream([`rebind.test:${p}`]));
      const drive = async (params: Record<string, string>, steps: [string, string][]) => {
        const r = await denoWithHosts(hosts, [
          "run",
          "-A",
          "--quiet",
          `${ROOT}/tests/testdata/rebind_driver.ts`,
          JSON.stringify({
            manifest,
            root,
            params,
            hostsFile: hosts,
            steps: steps.map(([address, path]) => ({
              hosts: `${HOSTS}\n${address} rebind.test\n`,
              tool: "fetch",
              args: { url: `http://rebind.test:${p}/${path}` },
            })),
          }),
        ]);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as Outcome[];
      };
      const [v4, v6, mapped] = await drive({}, [
        ["127.0.0.1", "v4"],
        ["::1", "v6"],
        ["::ffff:127.0.0.1", "mapped"],
      ]);
      assertDenied(v4, "rebound to 127.0.0.1");
      assertDenied(v6, "rebound to ::1");
      // Known gap, documented in runtime/policy/net_preflight.ts: Deno 2.9 matches --deny-net's IPv4
      // ranges against IPv4 addresses only, so a name rebound to an IPv4-mapped IPv6 address
      // after the launch check reaches loopback. When Deno closes it, this assertion fails:
      // turn it into a denial.
      assertAllowed(mapped, "rebound to ::ffff:127.0.0.1 (Deno 2.9 gap)");
      assert.deepEqual(canary.hits, ["v4 /mapped"]);

      // Positive control: with 127.0.0.1:PORT granted by the user, the rebound name lands.
      const [granted] = await drive({ upstream: `127.0.0.1:${p}` }, [["127.0.0.1", "granted"]]);
      assertAllowed(granted, "rebound to a granted address");
      assert.deepEqual(canary.hits, ["v4 /mapped", "v4 /granted"]);
    });
  },
});
