// Decide (pure): which host config entry, if any, an instance is. Tolerant of what launchers make of a
// command line: npx -> `npm exec <pkg>` -> `node …/_npx/<hash>/…/bin`, uvx -> `uv tool uvx` -> `python …`,
// `sh -c` collapsing into the exec'd process (bash) or not (dash), commands found through PATH.
import type { ServerEntry } from "../hosts/parse.js";
import { nameOf, stripLaunchers } from "./signature.js";

/** A command line as matching sees it: the name its first word stands for, then the arguments. */
interface Form {
  name: string;
  args: string[];
}

/** `@scope/pkg@1.2.3` -> `@scope/pkg`, `pkg@latest` -> `pkg`; `mcp_server_fetch` and `mcp-server-fetch` are one name. */
function canonicalName(word: string): string {
  const name = nameOf(word).replace(/(?!^)@[^/@]*$/, "");
  return name.toLowerCase().replace(/_/g, "-");
}

function formOf(argv: readonly string[]): Form | null {
  const words = stripLaunchers(argv);
  if (words.length === 0) return null;
  return { name: canonicalName(words[0] as string), args: words.slice(1) };
}

function unscoped(name: string): string {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? name : name.slice(slash + 1);
}

/**
 * Same server name? Equal, or one is the other with a prefix: a package's bin is often the package
 * name with a prefix (`@modelcontextprotocol/server-filesystem` installs `mcp-server-filesystem`), and
 * npx's grandchild runs the bin. The shorter name must be 4+ characters, so `x` matches nothing.
 */
export function namesRelated(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = [unscoped(a), unscoped(b)].sort((x, y) => x.length - y.length) as [string, string];
  if (short.length < 4) return false;
  return long === short || long.endsWith(`-${short}`);
}

/**
 * VS Code configs hold `${workspaceFolder}`, `${env:X}`, `${input:y}`: such an argument matches any one
 * word. Returns the words the variables stood for (two windows on two workspaces are two servers), or
 * null when the arguments differ.
 */
function argsMatch(entryArgs: readonly string[], args: readonly string[]): string[] | null {
  if (entryArgs.length !== args.length) return null;
  const bound: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const e = entryArgs[i] as string;
    const a = args[i] as string;
    if (e === a) continue;
    if (!e.includes("${")) return null;
    bound.push(a);
  }
  return bound;
}

/** The words an entry's `${…}` variables stood for in this argv, or null when the argv does not run the entry. */
function runsEntry(argv: readonly string[], entry: Pick<ServerEntry, "command" | "args">): string[] | null {
  const want = formOf([entry.command, ...entry.args]);
  const have = formOf(argv);
  if (want === null || have === null || !namesRelated(want.name, have.name)) return null;
  return argsMatch(want.args, have.args);
}

/** Does a process's argv run this entry's command? */
export function argvRunsEntry(argv: readonly string[], entry: Pick<ServerEntry, "command" | "args">): boolean {
  return runsEntry(argv, entry) !== null;
}

/** What matching knows of one process of an instance. */
export interface MatchProc {
  argv: readonly string[];
  cwd: string | null;
  /** Its environment, when it was read (null: unreadable or not read). */
  environ?: ReadonlyMap<string, string> | null;
}

/** The entry set an instance matched: one entry, or several a process cannot tell apart. */
export interface EntryMatch {
  entry: ServerEntry;
  /** Entries this instance cannot be told apart from (1 = only `entry`): the host starts each, so each keeps its own instances. */
  twins: number;
  /** What the entry's `${…}` variables stood for: part of the type, so two workspaces are two types. */
  bound: string[];
}

/** Entries whose env and cwd the process does not contradict (unknown values contradict nothing). */
function compatible(entry: ServerEntry, p: MatchProc): boolean {
  if (p.environ) for (const [k, v] of Object.entries(entry.env)) if (p.environ.get(k) !== v) return false;
  if (entry.cwd !== null && entry.cwd.startsWith("/") && p.cwd !== null && p.cwd !== entry.cwd.replace(/(.)\/$/, "$1")) return false;
  return true;
}

/**
 * The config entry an instance is, from any process of it (root first), or null. Several entries with
 * one command are told apart by their env and cwd; entries that stay indistinguishable are twins.
 */
export function matchEntry(procs: readonly MatchProc[], entries: readonly ServerEntry[]): EntryMatch | null {
  if (entries.length === 0) return null;
  for (const p of procs) {
    const hits = entries.filter((e) => argvRunsEntry(p.argv, e));
    if (hits.length === 0) continue;
    // An env or cwd that contradicts every entry is another configuration of the same package: no match.
    const pool = hits.filter((e) => compatible(e, p));
    if (pool.length === 0) continue;
    // Entries this process cannot be told apart from all start their own instances: keep room for each.
    const entry = pool[0] as ServerEntry;
    return { entry, twins: pool.length, bound: runsEntry(p.argv, entry) ?? [] };
  }
  return null;
}
