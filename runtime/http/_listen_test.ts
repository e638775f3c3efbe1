import assert from "node:assert/strict";
import { filterOf, honoredFilter, MAX_RESOURCE_SUBSCRIPTIONS } from "./_listen.ts";

Deno.test("filterOf() reads a listen filter and refuses malformed or oversized ones", () => {
  assert.deepEqual(
    filterOf({ notifications: { toolsListChanged: true, resourceSubscriptions: ["a", "a", "b"] } }),
    { toolsListChanged: true, resourceSubscriptions: ["a", "b"] },
  );
  assert.deepEqual(filterOf({ notifications: {} }), {});
  const many = Array.from({ length: MAX_RESOURCE_SUBSCRIPTIONS + 1 }, (_, i) => `file:///${i}`);
  for (
    const params of [
      undefined,
      {},
      { notifications: [] },
      { notifications: { toolsListChanged: "yes" } },
      { notifications: { resourceSubscriptions: "file:///a" } },
      { notifications: { resourceSubscriptions: [""] } },
      { notifications: { resourceSubscriptions: ["x".repeat(3000)] } },
      { notifications: { resourceSubscriptions: many } },
    ]
  ) {
    assert.equal(
      typeof filterOf(params as Record<string, unknown>),
      "string",
      JSON.stringify(params),
    );
  }
});

Deno.test("honoredFilter() acknowledges only what the server's capabilities can deliver", () => {
  const asked = {
    toolsListChanged: true,
    promptsListChanged: true,
    resourcesListChanged: true,
    resourceSubscriptions: ["file:///a"],
  };
  assert.deepEqual(honoredFilter(asked, undefined), {});
  assert.deepEqual(
    honoredFilter(asked, { tools: { listChanged: true }, resources: { subscribe: true } }),
    { toolsListChanged: true, resourceSubscriptions: ["file:///a"] },
  );
  assert.deepEqual(
    honoredFilter({ toolsListChanged: false }, { tools: { listChanged: true } }),
    {},
  );
});
