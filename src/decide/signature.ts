// Decide: argv -> server type. Pure string work: launchers stripped, paths reduced to what they name.

/** What makes two instances "the same server": the normalized command and the working directory. */
export interface Signature {
  /** The command after launchers were stripped, its first word reduced to the package or script it names. */
  command: string[];
  /** The instance root's working directory (null when unreadable). */
  cwd: string | null;
  /** Equality key: equal keys mean the same server type. */
  key: string;
  /** Human form, for the report. */
  label: string;
}

export function basename(path: string): string {
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? trimmed : trimmed.slice(slash + 1);
}

/**
 * Directories of a package that hold its bin and main scripts (`bin/cli.js`, `dist/index.js`,
 * `build/index.js`, `lib/main.js`); a script deeper down, or in any other directory, is a helper file
 * of the package, not the package being run.
 */
const ENTRY_DIRS = new Set(["bin", "dist", "build", "lib", "out"]);

/** True when `rest` (the path inside a package) is where the package's bin or main script sits. */
function isEntryPath(rest: readonly string[]): boolean {
  return rest.length <= 1 || (rest.length === 2 && ENTRY_DIRS.has(rest[0] as string));
}

/**
 * Package name after the last node_modules/ (`@scope/pkg`, or a bin name under .bin/), only where the
 * path runs the package itself: the package's directory, a script at its top or in one of ENTRY_DIRS,
 * or its link under .bin/. A helper script inside a package (a gateway's worker at
 * `node_modules/mcp-hub/dist/workers/x.js`, our demo's `node_modules/mcp-reaper/dist/src/demo/worker.js`)
 * is named by itself: the word "mcp" in the package's name does not make it an MCP server.
 */
function packageAfterNodeModules(path: string): string | null {
  const at = path.lastIndexOf("node_modules/");
  if (at < 0) return null;
  const parts = path.slice(at + "node_modules/".length).split("/").filter((p) => p !== "");
  if (parts[0] === ".bin") return parts[1] ?? null;
  const scoped = parts[0]?.startsWith("@") === true;
  if (scoped && parts[1] === undefined) return null;
  const name = scoped ? `${parts[0]}/${parts[1]}` : parts[0];
  if (name === undefined) return null;
  return isEntryPath(parts.slice(scoped ? 2 : 1)) ? name : null;
}

/**
 * Python module after site-packages/ or dist-packages/, by the same rule: the module itself
 * (`mod.py`, `mod/__main__.py`, a script at the top of `mod/`), not a file deeper inside it.
 */
function moduleAfterSitePackages(path: string): string | null {
  const m = /\/(?:site|dist)-packages\/([^/]+)((?:\/[^/]+)*)\/?$/.exec(path);
  if (!m || !m[1]) return null;
  const rest = (m[2] ?? "").split("/").filter((p) => p !== "");
  return rest.length <= 1 ? m[1].replace(/\.py$/, "") : null;
}

/** `@scope/name` as npx is given it: a package, not a path. */
const SCOPED_PACKAGE = /^@[\w.-]+\/[\w.-]+(?:@[\w.^~<>=-]+)?$/;

/** Install caches whose paths hold hashes or versions that change between runs of the same server. */
const CACHE_DIR = /\/(?:_npx|\.cache|\.venv|venv|\.local\/share\/uv|\.local\/pipx|uv\/tools|\.npm)\//;

/**
 * The name a word stands for, for matching: a plain word as it is; a path by the package it runs
 * (node_modules, site-packages: the package's bin or main script, see packageAfterNodeModules) or else
 * by its basename. So a checkout under /home/me/mcp-work/ does not make every script in it look like
 * an MCP server, nor does a helper script shipped in a package whose name holds "mcp".
 */
export function nameOf(word: string): string {
  if (!word.includes("/") || SCOPED_PACKAGE.test(word)) return word;
  return packageAfterNodeModules(word) ?? moduleAfterSitePackages(word) ?? basename(word);
}

/**
 * The first word of a command, reduced for the signature: a package's bin or main script to the
 * package's name, files in install caches to their basename (the cache path holds hashes), any other
 * path kept whole (two different scripts called index.js are two servers; two helper scripts of one
 * package are two types, not one named after the package).
 */
export function reduceCommandWord(word: string): string {
  if (!word.includes("/")) return word;
  return packageAfterNodeModules(word) ?? moduleAfterSitePackages(word) ?? (CACHE_DIR.test(word) ? basename(word) : word);
}

/**
 * Splits a shell command string into the words of its first simple command. Handles quotes and
 * backslashes; stops at ; & | && || (what follows `;` in `node x.js; :` is not the server).
 * Not a shell: no expansion. Good enough to read what launchers pass to `sh -c`.
 */
export function shellSplit(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word += end < 0 ? command.slice(i + 1) : command.slice(i + 1, end);
      i = end < 0 ? command.length : end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === "\\" && i + 1 < command.length && '"\\$`'.includes(command[i + 1] as string)) i++;
        word += command[i];
      }
      inWord = true;
    } else if (c === "\\" && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (c === ";" || c === "&" || c === "|" || c === "\n") {
      break;
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Options that take the next word as their value, per launcher. Flags not listed here take none. */
const VALUE_OPTIONS: Record<string, ReadonlySet<string>> = {
  npx: new Set(["-p", "--package", "--registry", "--cache", "--userconfig", "--prefix"]),
  npm: new Set(["-p", "--package", "--registry", "--cache", "--userconfig", "--prefix", "-w", "--workspace"]),
  pnpm: new Set(["--package", "--registry", "-C", "--dir"]),
  uv: new Set([
    "--from", "--with", "--with-editable", "--with-requirements", "--python", "-p", "--directory", "--project",
    "--index", "--index-url", "--extra-index-url", "--default-index", "--env-file", "--cache-dir", "--config-file",
  ]),
  pipx: new Set(["--spec", "--python", "--pip-args", "--index-url"]),
  node: new Set(["-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file", "--conditions", "-C", "--title"]),
  python: new Set(["-X", "-W", "-Q"]),
  deno: new Set(["-c", "--config", "--import-map", "--lock", "--env-file", "--location", "--cert"]),
  bun: new Set(["-r", "--preload", "--cwd", "--env-file", "--config", "-c"]),
};

/** Skips leading options (and their values) of `launcher`, and a `--` separator. */
function skipOptions(words: string[], launcher: keyof typeof VALUE_OPTIONS): string[] {
  const takesValue = VALUE_OPTIONS[launcher] as ReadonlySet<string>;
  let i = 0;
  while (i < words.length) {
    const w = words[i] as string;
    if (w === "--") return words.slice(i + 1);
    if (!w.startsWith("-") || w === "-") break;
    i += !w.includes("=") && takesValue.has(w) ? 2 : 1;
  }
  return words.slice(i);
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "busybox"]);
const PYTHON = /^python(?:\d+(?:\.\d+)?)?w?$/;

/**
 * Strips launchers until the server's own command is left: env, npx / npm exec, pnpm dlx / exec, yarn dlx,
 * bunx / bun x / bun run, uvx / uv run / uv tool run / uv tool uvx, pipx run, sh -c / bash -c, exec,
 * node, python (-m), deno run. Bounded: each round removes at least one word.
 */
export function stripLaunchers(argv: readonly string[]): string[] {
  let words = argv.filter((w) => w !== "");
  // A retitled process (process.title, setproctitle) shows its title as one word padded with NULs:
  // npm 11 retitles npx to "npm exec @scope/pkg /tmp". Titles are plain words: split on spaces.
  if (words.length === 1 && /\s/.test(words[0] as string)) words = (words[0] as string).split(/\s+/).filter(Boolean);
  for (let round = 0; round < 16 && words.length > 0; round++) {
    const head = basename(words[0] as string);
    const second = words[1];
    let next: string[] | null = null;
    if (head === "env") {
      let i = 1;
      while (i < words.length && ((words[i] as string).startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i] as string))) {
        i += words[i] === "-u" || words[i] === "--unset" ? 2 : 1;
      }
      next = words.slice(i);
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string) || head === "exec") {
      next = words.slice(1);
    } else if (SHELLS.has(head)) {
      // sh -c 'cmd' / bash -lc 'cmd': the command string is the word after the option cluster holding c.
      let i = 1;
      let hasC = false;
      while (i < words.length && (words[i] as string).startsWith("-") && !hasC) {
        if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(words[i] as string)) hasC = true;
        i++;
      }
      if (hasC && i < words.length) next = shellSplit(words[i] as string);
      // `bash /path/to/script args`: how the kernel runs a `#!/bin/bash` launcher; the script is the command.
      else if (i === 1 && words.length > 1) next = words.slice(1);
    } else if (head === "npx" || head === "bunx") {
      next = skipOptions(words.slice(1), "npx");
    } else if (head === "npm" && (second === "exec" || second === "x")) {
      next = skipOptions(words.slice(2), "npm");
    } else if ((head === "pnpm" || head === "yarn") && (second === "dlx" || second === "exec")) {
      next = skipOptions(words.slice(2), "pnpm");
    } else if (head === "bun" && (second === "x" || second === "run")) {
      next = skipOptions(words.slice(2), "bun");
    } else if (head === "uvx") {
      next = skipOptions(words.slice(1), "uv");
    } else if (head === "uv" && second === "run") {
      next = skipOptions(words.slice(2), "uv");
    } else if (head === "uv" && second === "tool" && (words[2] === "run" || words[2] === "uvx")) {
      next = skipOptions(words.slice(3), "uv");
    } else if (head === "pipx" && second === "run") {
      next = skipOptions(words.slice(2), "pipx");
    } else if (head === "node" || head === "nodejs" || head === "bun") {
      next = skipOptions(words.slice(1), head === "bun" ? "bun" : "node");
    } else if (PYTHON.test(head)) {
      const rest = skipOptions(words.slice(1), "python");
      next = rest[0] === "-m" ? rest.slice(1) : rest;
      // python -m with the module glued on: python -mfoo
      if (rest[0]?.startsWith("-m") && rest[0].length > 2) next = [rest[0].slice(2), ...rest.slice(1)];
    } else if (head === "deno" && second === "run") {
      next = skipOptions(words.slice(2), "deno");
    }
    if (next === null || next.length === 0) break;
    words = next;
  }
  return words;
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word);
}

/** The server type of an instance, from its root's argv and working directory (and chosen env values). */
export function signatureOf(argv: readonly string[], cwd: string | null, env: ReadonlyMap<string, string> = new Map()): Signature {
  const stripped = stripLaunchers(argv);
  const command = stripped.length === 0 ? [] : [reduceCommandWord(stripped[0] as string), ...stripped.slice(1)];
  const envPart = [...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const key = JSON.stringify([command, cwd, envPart]);
  let label = command.map(quote).join(" ");
  if (envPart.length > 0) label = `${envPart.map(([k, v]) => `${k}=${quote(v)}`).join(" ")} ${label}`;
  return { command, cwd, key, label };
}

/** Every name a process's argv stands for (shell command strings split into their words first). */
export function namesIn(argv: readonly string[]): string[] {
  const names: string[] = [];
  for (const word of argv) {
    if (word === "") continue;
    for (const w of /\s/.test(word) ? shellSplit(word) : [word]) names.push(nameOf(w));
  }
  const image = containerImageOf(argv);
  if (image !== null) names.push(image);
  return names;
}

/** `docker run` / `podman run` options that take the next word as their value (the rest are flags). */
const CONTAINER_VALUE_OPTIONS = new Set([
  "-a", "--attach", "--add-host", "--cap-add", "--cap-drop", "--cgroupns", "--cidfile", "--cpus", "--cpu-shares", "-c",
  "--device", "--dns", "-e", "--env", "--env-file", "--entrypoint", "--gpus", "-h", "--hostname", "--ipc", "-l", "--label",
  "--log-driver", "--log-opt", "-m", "--memory", "--mount", "--name", "--network", "--net", "-p", "--publish", "--pid",
  "--platform", "--pull", "--restart", "--runtime", "--security-opt", "--shm-size", "--stop-signal", "--stop-timeout",
  "--tmpfs", "-u", "--user", "--ulimit", "-v", "--volume", "--volumes-from", "-w", "--workdir", "--userns", "--uts",
]);

/**
 * The image of `docker run [options] IMAGE [args]` (also podman, nerdctl), or null. The docker CLI is
 * the instance (the server runs in the container, not under the gateway), and images are named like
 * `mcp/fetch` or `ghcr.io/github/github-mcp-server`: a path-looking word that must be matched whole.
 */
export function containerImageOf(argv: readonly string[]): string | null {
  const words = argv.filter((w) => w !== "");
  const head = basename(words[0] ?? "");
  if (!["docker", "podman", "nerdctl"].includes(head)) return null;
  let i = 1;
  if (words[i] === "container") i++;
  if (words[i] !== "run") return null;
  for (i++; i < words.length; i++) {
    const w = words[i] as string;
    if (w === "--") return words[i + 1] ?? null;
    if (!w.startsWith("-")) return w;
    if (!w.includes("=") && CONTAINER_VALUE_OPTIONS.has(w)) i++;
  }
  return null;
}
