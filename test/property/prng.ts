// Test helper: a small seeded PRNG (mulberry32) and a property runner that names the seed on failure.
// MCP_REAPER_SEED=<n> replays a run; without it every run draws a fresh seed.

/** The run's seed: from MCP_REAPER_SEED, else drawn from the clock and pid. */
export const SEED = process.env.MCP_REAPER_SEED !== undefined ? Number(process.env.MCP_REAPER_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

/**
 * Runs `check` on `cases` generated cases, each with its own Rng derived from SEED and the case
 * number, so a failure names the one case to replay.
 */
export function forAll(name: string, cases: number, check: (rng: Rng, i: number) => void): void {
  for (let i = 0; i < cases; i++) {
    const rng = new Rng((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
    try {
      check(rng, i);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`property "${name}" failed on case ${i} (replay with MCP_REAPER_SEED=${SEED}): ${message}`, { cause: err });
    }
  }
}
