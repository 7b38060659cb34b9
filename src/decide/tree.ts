// Decide: a process subtree in pre-order (root first, each child's subtree before its next sibling).
import type { ProcInfo } from "../proc/snapshot.js";

/** The processes under `root` (root included) with their depth, walking `children` over `procs`; pids not in `procs` are passed over. */
export function preorder(
  root: ProcInfo,
  children: ReadonlyMap<number, readonly number[]>,
  procs: ReadonlyMap<number, ProcInfo>,
): { proc: ProcInfo; depth: number }[] {
  const out: { proc: ProcInfo; depth: number }[] = [];
  const walk = (p: ProcInfo, depth: number): void => {
    out.push({ proc: p, depth });
    for (const kid of children.get(p.pid) ?? []) {
      const c = procs.get(kid);
      if (c) walk(c, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}
