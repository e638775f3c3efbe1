import assert from "node:assert/strict";
import { ClientStore } from "./client_store.ts";
import { OAuthError } from "./oauth_error.ts";
import { checkClientIdUrl, parseRegistrationRequest } from "./registration.ts";

const META = parseRegistrationRequest(
  JSON.stringify({ redirect_uris: ["http://127.0.0.1:9/cb"], client_name: "A" }),
);
const refuseFetch = () => Promise.reject(new Error("no network"));

async function withFile(run: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await run(`${dir}/clients.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ClientStore.register() keeps a client in memory until markUsed() writes it to a 0600 file", async () => {
  await withFile(async (file) => {
    const store = new ClientStore(file, { fetchDocument: refuseFetch, now: () => 5_000_000 });
    const client = await store.register(META, "192.0.2.1");
    assert.match(client.client_id, /^mcpr_client_[A-Za-z0-9_-]{22}$/);
    assert.equal(client.client_id_issued_at, 5000);
    assert.deepEqual((await store.find(client.client_id))?.metadata, META);
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound, "a registration writes nothing");
    await store.markUsed(client.client_id);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const again = new ClientStore(file, { fetchDocument: refuseFetch });
    const found = await again.find(client.client_id);
    assert.equal(found?.source, "registered");
    assert.deepEqual(found?.metadata, META);
    assert.equal(await again.find("mcpr_client_unknown"), undefined);
  });
});

Deno.test("ClientStore.register() keeps the owner's fresh registration through a flood", async () => {
  await withFile(async (file) => {
    const store = new ClientStore(file, { fetchDocument: refuseFetch, maxUnused: 50 });
    const owner = await store.register(META, "192.0.2.1");
    const flood = [];
    for (let i = 0; i < 2000; i++) {
      flood.push(await store.register(META, `198.51.100.${i % 9}`)); // a few addresses
    }
    for (let i = 0; i < 40; i++) await store.register(META, `203.0.113.${i}`); // and many
    assert.ok(await store.find(owner.client_id), "the owner's registration survives");
    assert.equal(await store.find(flood[0].client_id), undefined, "the flood's oldest go");
    assert.ok(await store.find(flood[1999].client_id), "positive control: recent ones stay");
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound, "the flood wrote nothing");
  });
});

Deno.test("ClientStore.markUsed() keeps the least recently used clients out of a full file", async () => {
  await withFile(async (file) => {
    let now = 1000;
    const store = new ClientStore(file, {
      fetchDocument: refuseFetch,
      maxClients: 2,
      now: () => now,
    });
    const a = await store.register(META);
    now++;
    const b = await store.register(META);
    await store.markUsed(b.client_id);
    now++;
    await store.markUsed(a.client_id); // a is now the most recently used
    now++;
    const c = await store.register(META);
    await store.markUsed(c.client_id);
    assert.ok(await store.find(a.client_id));
    assert.equal(await store.find(b.client_id), undefined);
    assert.ok(await store.find(c.client_id));
    assert.equal(JSON.parse(await Deno.readTextFile(file)).clients.length, 2);
  });
});

Deno.test("ClientStore.markUsed() writes only when something changes", async () => {
  await withFile(async (file) => {
    let now = 1000;
    const store = new ClientStore(file, { fetchDocument: refuseFetch, now: () => now });
    const a = await store.register(META);
    await store.markUsed(a.client_id);
    const written = (await Deno.stat(file)).mtime;
    const ino = (await Deno.stat(file)).ino;
    now += 60_000;
    await store.markUsed(a.client_id);
    await store.markUsed("mcpr_client_unknown");
    assert.equal((await Deno.stat(file)).ino, ino, "a use within the day is not written");
    assert.deepEqual((await Deno.stat(file)).mtime, written);
    now += 24 * 60 * 60_000;
    await store.markUsed(a.client_id);
    assert.equal(JSON.parse(await Deno.readTextFile(file)).clients[0].lastUsedAt, now);
  });
});

Deno.test("ClientStore.find() fetches, validates and caches client ID metadata documents", async () => {
  await withFile(async (file) => {
    let now = 0;
    const id = "https://app.example.com/client.json";
    const fetched: string[] = [];
    let doc = { client_id: id, client_name: "App", redirect_uris: ["https://app.example.com/cb"] };
    const store = new ClientStore(file, {
      fetchDocument: (url) => {
        fetched.push(url.href);
        return Promise.resolve(JSON.stringify(doc));
      },
      documentTtlMs: 1000,
      now: () => now,
    });
    assert.equal((await store.find(id))?.source, "document");
    await store.find(id);
    assert.equal(fetched.length, 1, "cached");
    now += 1001;
    doc = { ...doc, client_id: "https://other.example.com/client.json" };
    await assert.rejects(
      store.find(id),
      (e) => e instanceof OAuthError && e.code === "invalid_client",
    );
    assert.equal(fetched.length, 2, "refetched after the TTL");
    await assert.rejects(
      store.find("https://app.example.com/../x"),
      (e) => e instanceof OAuthError && e.code === "invalid_client",
    );
  });
});

Deno.test("ClientStore.find() tells the client only that a document could not be fetched", async () => {
  await withFile(async (file) => {
    const errors: Error[] = [];
    const failing = new ClientStore(file, {
      fetchDocument: () => Promise.reject(new Error("10.0.0.7 refused: internal host db.corp")),
      onError: (e) => errors.push(e),
    });
    const id = "https://app.example.com/oauth/client.json";
    await assert.rejects(failing.find(id), (e) => {
      assert.ok(e instanceof OAuthError && e.code === "invalid_client");
      assert.match(e.message, /could not be fetched/);
      assert.doesNotMatch(e.message, /10\.0\.0\.7|db\.corp/);
      return true;
    });
    assert.match(errors[0]?.message ?? "", /db\.corp/, "the owner's log hears why");
  });
});

Deno.test("ClientStore.find() names a corrupt clients file and how to recover", async () => {
  await withFile(async (file) => {
    await Deno.writeTextFile(file, "{}");
    const store = new ClientStore(file, { fetchDocument: refuseFetch });
    await assert.rejects(
      store.find("x"),
      (e) => e instanceof SyntaxError && /delete it/.test(e.message),
    );
  });
});

Deno.test("ClientStore.find() fetches a document once at a time, few at once, and remembers failures", async () => {
  await withFile(async (file) => {
    let now = 0;
    const calls: string[] = [];
    const waiting: (() => void)[] = [];
    let failing = true;
    const store = new ClientStore(file, {
      fetchDocument: (url) => {
        calls.push(url.href);
        return new Promise((resolve, reject) =>
          waiting.push(() =>
            failing ? reject(new Error("unreachable")) : resolve(JSON.stringify({
              client_id: url.href,
              client_name: "App",
              redirect_uris: ["https://app.example.com/cb"],
            }))
          )
        );
      },
      onError: () => {},
      now: () => now,
    });
    const id = (n: number) => `https://app${n}.example.com/client.json`;
    const same = [store.find(id(0)), store.find(id(0)), store.find(id(0))];
    assert.equal(calls.length, 1, "one fetch per client ID in flight");
    const others = [1, 2, 3].map((n) => store.find(id(n)));
    await assert.rejects(store.find(id(4)), /Too many client metadata documents/, "at most 4");
    assert.equal(calls.length, 4);
    for (const settle of waiting.splice(0)) settle();
    for (const p of [...same, ...others]) await assert.rejects(p, /could not be fetched/);
    await assert.rejects(store.find(id(0)), /could not be fetched/);
    assert.equal(calls.length, 4, "a failure is not fetched again within a minute");
    now += 60_001;
    failing = false;
    const later = store.find(id(0));
    waiting.shift()!();
    assert.equal((await later)?.metadata.client_name, "App", "positive control: after a minute");
    assert.equal(calls.length, 5);
  });
});

Deno.test("checkClientIdUrl() refuses ports other than 443", () => {
  assert.throws(
    () => checkClientIdUrl("https://app.example.com:8443/client.json"),
    /port 443/,
  );
  assert.equal(
    checkClientIdUrl("https://app.example.com/client.json").hostname,
    "app.example.com",
    "positive control",
  );
});
