// Test helper: worlds started by a test file are stopped after each test, also on failure, and must
// leave no process behind.
import assert from "node:assert/strict";
import { afterEach } from "node:test";
import { startWorld, type World } from "../../src/demo/world.js";

/** Registers the clean-up for the calling test file; returns the function its tests start worlds with. */
export function worldPerTest(): (opts: Parameters<typeof startWorld>[0]) => Promise<World> {
  let worlds: World[] = [];
  afterEach(async () => {
    await Promise.all(worlds.map((w) => w.stop()));
    for (const w of worlds) assert.deepEqual(w.livePids(), [], "the world left processes behind");
    worlds = [];
  });
  return async (opts) => {
    const w = await startWorld(opts);
    worlds.push(w);
    return w;
  };
}
