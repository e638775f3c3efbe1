import assert from "node:assert/strict";
import { ClientStore } from "./client_store.ts";
import { OAuthError } from "./oauth_error.ts";
import { parseRegistrationRequest } from "./registration.ts";

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

Deno.test("ClientStore.register() persists clients in a 0600 file and find() reads them back", async () => {
  await withFile(async (file) => {
    const store = new ClientStore(file, { fetchDocument: refuseFetch, now: () => 5_000_000 });
    const client = await store.register(META);
    assert.match(client.client_id, /^mcpr_client_[A-Za-z0-9_-]{22}$/);
    assert.equal(client.client_id_issued_at, 5000);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const again = new ClientStore(file, { fetchDocument: refuseFetch });
    const found = await again.find(client.client_id);
    assert.equal(found?.source, "registered");
    assert.deepEqual(found?.metadata, META);
    assert.equal(await again.find("mcpr_client_unknown"), undefined);
  });
});

Deno.test("ClientStore.register() evicts unused registrations first, so a flood spares used clients", async () => {
  await withFile(async (file) => {
    let now = 1000;
    const store = new ClientStore(file, {
      fetchDocument: refuseFetch,
      maxClients: 3,
      now: () => now,
    });
    const owner = await store.register(META);
    await store.markUsed(owner.client_id);
    const flood = [];
    for (let i = 0; i < 10; i++) {
      now++;
      flood.push(await store.register(META));
    }
    assert.ok(await store.find(owner.client_id), "the client that obtained tokens survives");
    assert.equal(await store.find(flood[0].client_id), undefined);
    assert.ok(await store.find(flood[9].client_id));
    assert.equal(JSON.parse(await Deno.readTextFile(file)).clients.length, 3);
  });
});

Deno.test("ClientStore.register() evicts the least recently used client when all were used", async () => {
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
    assert.ok(await store.find(a.client_id));
    assert.equal(await store.find(b.client_id), undefined);
    assert.ok(await store.find(c.client_id));
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
