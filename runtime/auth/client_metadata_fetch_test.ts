// Refusals of the SSRF-safe fetch. No test sends traffic beyond loopback: names resolve through
// an injected resolver, refused addresses are never connected to.
import assert from "node:assert/strict";
import { fetchClientMetadata, isPublicAddress } from "./client_metadata_fetch.ts";

Deno.test("isPublicAddress() refuses every non-public range, v4, v6 and mapped", () => {
  const refused = [
    "0.0.0.0",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254", // cloud metadata
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::127.0.0.1", // IPv4-compatible (deprecated)
    "64:ff9b::a00:1", // NAT64 of 10.0.0.1
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1", // Teredo
    "2002:7f00:1::1", // 6to4
    "100::1",
    "3fff::1",
    "not an address",
    "01.2.3.4",
    "1.2.3",
    "1::2::3",
  ];
  for (const a of refused) assert.equal(isPublicAddress(a), false, a);
  const allowed = [
    "1.1.1.1",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:1.1.1.1",
    "64:ff9b::101:101", // NAT64 of 1.1.1.1
  ];
  for (const a of allowed) assert.equal(isPublicAddress(a), true, a);
});

Deno.test("fetchClientMetadata() refuses http, private literals and names resolving to private addresses", async () => {
  const noConnect = () => Promise.reject(new Error("must not resolve"));
  const cases: [string, RegExp, ((h: string) => Promise<string[]>)?][] = [
    ["http://client.example.com/meta.json", /must be https/],
    ["https://127.0.0.1/meta.json", /not a public address/],
    ["https://[::1]/meta.json", /not a public address/],
    ["https://[::ffff:127.0.0.1]/meta.json", /not a public address/],
    ["https://169.254.169.254/latest/meta-data", /not a public address/],
    ["https://0x7f.1/meta.json", /not a public address/], // the URL parser makes it 127.0.0.1
    ["https://localhost/meta.json", /not a public address/, () => Promise.resolve(["127.0.0.1"])],
    [
      "https://mixed.example.com/meta.json",
      /resolves to 10\.0\.0\.7/,
      () => Promise.resolve(["93.184.215.14", "10.0.0.7"]),
    ],
    [
      "https://v6.example.com/meta.json",
      /resolves to fd00::7/,
      () => Promise.resolve(["fd00::7"]),
    ],
    ["https://none.example.com/meta.json", /has no address/, () => Promise.resolve([])],
  ];
  for (const [url, message, resolve] of cases) {
    await assert.rejects(
      fetchClientMetadata(new URL(url), { resolve: resolve ?? noConnect }),
      message,
      url,
    );
  }
});

/** A CA and a certificate it signed for `name`, made with openssl in `dir`. */
async function certificates(
  dir: string,
  name: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  await run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=Test CA",
  );
  await run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    `/CN=${name}`,
  );
  await Deno.writeTextFile(`${dir}/san.ext`, `subjectAltName=DNS:${name}\n`);
  await run(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "1",
    "-extfile",
    "san.ext",
  );
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return { ca: await read("ca.pem"), cert: await read("leaf.pem"), key: await read("leaf.key") };
}

Deno.test("fetchClientMetadata() connects to the checked address and verifies TLS for the host name", async () => {
  const dir = await Deno.makeTempDir();
  const id = "https://app.example.com/client.json";
  const { ca, cert, key } = await certificates(dir, "app.example.com");
  const other = await certificates(await Deno.makeTempDir({ dir }), "evil.example");
  const serve = (tls: { cert: string; key: string }) => {
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
    const body = JSON.stringify({ client_id: id, client_name: "App" });
    const done = (async () => {
      for await (const conn of listener) {
        try {
          const buf = new Uint8Array(4096);
          await conn.read(buf);
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          ));
        } catch { /* the client refused the certificate */ }
        conn.close();
      }
    })();
    return { port: (listener.addr as Deno.NetAddr).port, listener, done };
  };
  const good = serve({ cert, key });
  const bad = serve(other);
  try {
    const dialed: string[] = [];
    const via = (port: number) => (address: string, p: number) => {
      dialed.push(`${address}:${p}`);
      return Deno.connect({ hostname: "127.0.0.1", port }); // stands in for the public address
    };
    const resolve = () => Promise.resolve(["93.184.215.14"]);
    const text = await fetchClientMetadata(new URL(id), {
      resolve,
      connect: via(good.port),
      caCerts: [ca],
    });
    assert.equal(JSON.parse(text).client_name, "App", "positive control");
    assert.deepEqual(dialed, ["93.184.215.14:443"], "the resolved, checked address is dialed");
    await assert.rejects(
      fetchClientMetadata(new URL(id), {
        resolve,
        connect: via(bad.port),
        caCerts: [ca, other.ca],
      }),
      /TLS failed/,
      "a certificate for another name is refused",
    );
    await assert.rejects(
      fetchClientMetadata(new URL(id), { resolve, connect: via(good.port) }),
      /TLS failed/,
      "an authority the system does not trust is refused",
    );
  } finally {
    good.listener.close();
    bad.listener.close();
    await Promise.all([good.done, bad.done]);
    await Deno.remove(dir, { recursive: true });
  }
});
