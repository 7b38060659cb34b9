// Every gateway a spec names, each on its own: --all runs one pass per matching process (resolved,
// locked, planned, acted on and reported apart), --orphans alone one host-wide pass, anything else the
// one pass it always was. The one-shot CLI and the supervisor both come through here.
import type { PassConfig } from "../config.js";
import { runPass, type PassHooks, type PassResult } from "../pass.js";
import { GatewayNotFoundError, resolveGateways, type GatewayIdentity } from "../proc/gateway.js";
import { GatewayGoneError, protectedPidsOf } from "../proc/snapshot.js";
import { LockDirError, LockHeldError } from "../supervise/lock.js";
import { runHostPass } from "./host.js";

/** One gateway's pass, or why it had none (it exited since the listing, or another reaper holds its lock). */
export type GatewayOutcome = { gateway: GatewayIdentity; result: PassResult } | { gateway: GatewayIdentity; error: Error };

/** Whether a spec runs several passes (--all); a host-wide pass and a single gateway run one. */
export function isEvery(config: PassConfig): boolean {
  return config.gateway.kind === "name" && config.gateway.all === true;
}

/** One pass for a spec naming one gateway, or none (host-wide). Throws as runPass does. */
export async function runOne(config: PassConfig, hooks: PassHooks = {}): Promise<PassResult> {
  return config.gateway.kind === "host" ? runHostPass(config, hooks) : runPass(config, hooks);
}

/**
 * --all: one pass per process of the name, at once (each waits its own grace). The others' pids are cut
 * out of each walk, so a gateway nested in another's tree counts once, as its own. A gateway that went
 * away or is locked by another reaper is an outcome, not a failure of the rest; anything else throws.
 * Throws GatewayNotFoundError when no process has the name.
 */
export async function runEvery(config: PassConfig, hooksFor: (g: GatewayIdentity) => PassHooks): Promise<GatewayOutcome[]> {
  const spec = config.gateway;
  const gateways = resolveGateways(spec, config.procRoot, protectedPidsOf(config.procRoot, process.pid));
  const all = new Set(gateways.map((g) => g.pid));
  const name = spec.kind === "name" ? spec.name : "";
  return Promise.all(
    gateways.map(async (gateway, index): Promise<GatewayOutcome> => {
      const cut = new Set(all);
      cut.delete(gateway.pid);
      try {
        const result = await runPass(config, hooksFor(gateway), { gateway, cut });
        result.all = { name, index, of: gateways.length };
        return { gateway, result };
      } catch (err) {
        if (err instanceof GatewayNotFoundError || err instanceof GatewayGoneError || err instanceof LockHeldError || err instanceof LockDirError) return { gateway, error: err };
        throw err;
      }
    }),
  );
}
