// The documentation against the built CLI: every option of --help and of each subcommand's help is
// documented in docs/ and in the man page; README and docs links resolve; README, docs and --help give
// the same exit codes; the README's quick start is the two commands it promises.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(REPO, "bin", "mcp-reaper.js");
const DOCS = join(REPO, "docs");

function help(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args, "--help"], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, `${args.join(" ")} --help: ${r.stderr}`);
  return r.stdout;
}

/** The subcommands a help text lists under "Commands:", as paths from the top (["systemd", "print"]). */
function commandsOf(text: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(text)?.[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== "help");
}

/** Every help text: the top, and each subcommand's, found by walking "Commands:" sections. */
function allHelp(): Map<string, string> {
  const texts = new Map<string, string>();
  const walk = (path: string[]): void => {
    const text = help(path);
    texts.set(["mcp-reaper", ...path].join(" "), text);
    for (const c of commandsOf(text)) walk([...path, c]);
  };
  walk([]);
  return texts;
}

/** The long options an option list of a help text declares (`  -n, --dry-run`, `  --keep <n>`). */
function optionsOf(text: string): string[] {
  return [...text.matchAll(/^ {2}(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1] as string);
}

const docsText = (): string => readdirSync(DOCS).filter((f) => f.endsWith(".md")).map((f) => readFileSync(join(DOCS, f), "utf8")).join("\n");
const mentions = (text: string, word: string): boolean => new RegExp(`(^|[^\\w-])${word.replace(/[-\\]/g, "\\$&")}(?![\\w-])`, "m").test(text);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  const text = markdown.replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1] as string)));
}

describe("documentation", () => {
  const texts = allHelp();

  it("finds the subcommands and their options (negative control for the parsing below)", () => {
    assert.deepEqual([...texts.keys()], ["mcp-reaper", "mcp-reaper demo", "mcp-reaper systemd", "mcp-reaper systemd print", "mcp-reaper systemd install"]);
    assert.ok(optionsOf(texts.get("mcp-reaper") as string).includes("--gateway-pid"));
    assert.ok(optionsOf(texts.get("mcp-reaper systemd install") as string).includes("--enable"));
    assert.equal(mentions("see `--keep-all`", "--keep"), false, "a longer option does not count as the shorter one");
  });

  it("every option of every help text is documented in docs/ and in the man page", () => {
    const docs = docsText();
    // The roff text as a reader sees it: \- is "-", font changes (\fB, \fR) are no characters.
    const man = readFileSync(join(REPO, "dist", "man", "mcp-reaper.1"), "utf8").replace(/\\-/g, "-").replace(/\\f[BIRP]/g, "");
    const missing: string[] = [];
    for (const [command, text] of texts) {
      for (const option of optionsOf(text)) {
        if (!mentions(docs, option)) missing.push(`${command} ${option}: not in docs/`);
        if (!mentions(man, option)) missing.push(`${command} ${option}: not in the man page`);
      }
      const words = command.split(" ");
      if (words.length > 1 && !docs.includes(`\`${command}`) && !docs.includes(`\`${words.slice(1).join(" ")}`)) missing.push(`${command}: the command is not in docs/`);
    }
    assert.deepEqual(missing, []);
  });

  it("links between README.md and docs/ resolve, anchors included", () => {
    const files = ["README.md", ...readdirSync(DOCS).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(REPO, file), "utf8").replace(/```[\s\S]*?```/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue;
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const target = path === "" ? join(REPO, file) : resolve(dirname(join(REPO, file)), path);
        if (!existsSync(target)) broken.push(`${file}: ${link} (no such file)`);
        else if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("README, docs/options.md and --help give the same exit codes", () => {
    const rows = (markdown: string): string[] => [...markdown.matchAll(/^\| (\d) \| (.*) \|$/gm)].map((m) => `${m[1]} ${m[2]}`);
    const readme = rows(readFileSync(join(REPO, "README.md"), "utf8"));
    assert.deepEqual(readme.map((r) => r[0]), ["0", "1", "2", "3", "4", "5"]);
    assert.deepEqual(rows(readFileSync(join(DOCS, "options.md"), "utf8")), readme);
    const codes = [...(texts.get("mcp-reaper") as string).matchAll(/^ {2}(\d) {2}/gm)].map((m) => m[1]);
    assert.deepEqual(codes, ["0", "1", "2", "3", "4", "5"]);
  });

  it("the README's quick start is exactly two commands", () => {
    const quick = /## Quick start\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readFileSync(join(REPO, "README.md"), "utf8"))?.[1] ?? "";
    assert.deepEqual(quick.trim().split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()), ["npm ci && npx mcp-reaper demo", "npm ci && npm test"]);
  });
});
