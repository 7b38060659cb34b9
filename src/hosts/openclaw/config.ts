// Sense (pure): is a gateway OpenClaw, and where it keeps its config and its state (read from its environment).

export type OpenclawConfigHow = "OPENCLAW_CONFIG_PATH" | "OPENCLAW_STATE_DIR" | "home";

/** `~/x` with a known home, and a path relative to the gateway's working directory, made absolute. */
function absolute(path: string, home: string | null, cwd: string | null): string | null {
  if (path === "~" || path.startsWith("~/")) return home === null ? null : `${home}${path.slice(1)}`;
  if (path.startsWith("/")) return path;
  return cwd === null ? null : `${cwd.replace(/\/$/, "")}/${path}`;
}

function dirOf(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Where the gateway reads its OpenClaw config: OPENCLAW_CONFIG_PATH from its environment, else
 * $OPENCLAW_STATE_DIR/openclaw.json, else ~/.openclaw/openclaw.json of the gateway's user.
 */
export function openclawConfigPath(
  environ: ReadonlyMap<string, string> | null,
  home: string | null,
  cwd: string | null,
): { path: string; how: OpenclawConfigHow } | null {
  const configPath = environ?.get("OPENCLAW_CONFIG_PATH");
  if (configPath) {
    const p = absolute(configPath, home, cwd);
    return p === null ? null : { path: p, how: "OPENCLAW_CONFIG_PATH" };
  }
  const stateDir = openclawStateDir(environ, home, cwd);
  if (stateDir === null) return null;
  return { path: `${stateDir.path}/openclaw.json`, how: stateDir.how === "OPENCLAW_STATE_DIR" ? "OPENCLAW_STATE_DIR" : "home" };
}

/**
 * Where the gateway keeps its state (sessions, transcripts, SQLite stores): OPENCLAW_STATE_DIR, else the
 * directory of OPENCLAW_CONFIG_PATH, else ~/.openclaw of the gateway's user (openclaw 2026.4.9 and
 * 2026.9.x resolve it so: resolveStateDir).
 */
export function openclawStateDir(
  environ: ReadonlyMap<string, string> | null,
  home: string | null,
  cwd: string | null,
): { path: string; how: OpenclawConfigHow } | null {
  const stateDir = environ?.get("OPENCLAW_STATE_DIR");
  if (stateDir) {
    const p = absolute(stateDir, home, cwd);
    return p === null ? null : { path: p.replace(/(.)\/+$/, "$1"), how: "OPENCLAW_STATE_DIR" };
  }
  const configPath = environ?.get("OPENCLAW_CONFIG_PATH");
  if (configPath) {
    const p = absolute(configPath, home, cwd);
    return p === null ? null : { path: dirOf(p), how: "OPENCLAW_CONFIG_PATH" };
  }
  return home === null ? null : { path: `${home.replace(/\/$/, "")}/.openclaw`, how: "home" };
}

/** Is this gateway an OpenClaw one? Its env names OpenClaw's config, or its title does. */
export function looksLikeOpenclaw(environ: ReadonlyMap<string, string> | null, comm: string, argv: readonly string[]): boolean {
  if (environ?.has("OPENCLAW_CONFIG_PATH") || environ?.has("OPENCLAW_STATE_DIR")) return true;
  return /openclaw/i.test(comm) || argv.some((w) => /openclaw/i.test(w));
}
