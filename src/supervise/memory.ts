// Between passes the supervisor gives its garbage back: one full garbage collection after each pass.
//
// Why: a pass allocates ~1 MB (file texts, process records, the plan) and then the process sleeps until
// the next slot. With no pressure V8 lets the heap grow instead of collecting: measured over 5,000
// back-to-back passes, RSS rose 70 -> ~100 MB with Node's defaults, and 58 -> 66 MB even with a 1 MB
// young generation (--max-semi-space-size=1). A full GC after every pass holds it at 51.9-53.3 MB to
// pass 5,000 and 52.5-53.8 MB to pass 20,000 (heap 7 MB), with or without that flag. It takes ~2-3 ms,
// once per pass: nothing next to a schedule counted in seconds.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collector: (() => void) | null | undefined;

/**
 * V8's full collection. `node --expose-gc` would put it on globalThis; without that flag, set it at run
 * time and fetch `gc` from a fresh context, whose globals are made after the flag. Null if neither works.
 * Node documents flags set after start-up as not guaranteed; it starts V8 with flags left unfrozen so
 * that v8.setFlagsFromString works (measured on Node 20; the unit test fails if no collection happens).
 */
function fullGc(): (() => void) | null {
  if (collector !== undefined) return collector;
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") return (collector = existing as () => void);
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    collector = typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    collector = null;
  }
  return collector;
}

/** One full garbage collection, where this Node allows it; otherwise nothing. */
export function releaseGarbage(): void {
  fullGc()?.();
}
