// Build step: the man page dist/man/mcp-reaper.1, made from the same text as the README and docs/*.md
// (package.json's "man" field installs it, so `man mcp-reaper` works after `npm i -g`). A small
// Markdown-to-roff converter for what those files use: headings, paragraphs, lists, tables, code.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** docs/ files in reading order; files not listed follow in name order (docs/README.md is the index). */
const ORDER = ["options", "deciding", "sessions", "hosts", "host-configs", "activity-guard", "idle", "memory", "supervisor", "metrics", "systemd", "json", "performance", "development"];
/** README sections the man page takes from elsewhere (the docs, its own NAME and SYNOPSIS) or has no use for. */
const README_SKIP = new Set(["Quick start", "The commands people run", "Exit codes", "Documentation"]);

/** Text for roff: backslashes escaped, hyphens as \- (so options copy and search as typed). */
function escape(text) {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-");
}

/** Inline Markdown: `code` and **bold** to bold, *emphasis* to italics, [text](url) to text (and the URL when absolute). */
function inline(text) {
  const out = [];
  const re = /`([^`]+)`|\*\*(.+?)\*\*|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\(([^)]+)\)/g;
  let last = 0;
  for (let m; (m = re.exec(text)) !== null; ) {
    out.push(escape(text.slice(last, m.index)));
    if (m[1] !== undefined) out.push(`\\fB${escape(m[1])}\\fR`);
    else if (m[2] !== undefined) out.push(`\\fB${inline(m[2])}\\fR`);
    else if (m[3] !== undefined) out.push(`\\fI${inline(m[3])}\\fR`);
    else out.push(/^https?:/.test(m[5]) ? `${inline(m[4])} <${escape(m[5])}>` : inline(m[4]));
    last = re.lastIndex;
  }
  out.push(escape(text.slice(last)));
  return out.join("");
}

/** A line roff must not take for a request: a leading . or ' is guarded. */
function line(text) {
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

function cells(row) {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** Markdown blocks to roff. `top` is the heading level that becomes .SH (the next ones .SS). */
function convert(markdown, top) {
  const out = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; ) {
    const l = lines[i];
    const heading = /^(#+) (.*)$/.exec(l);
    if (l.trim() === "") {
      i++;
    } else if (/^```/.test(l)) {
      const body = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      out.push(".PP", ".RS 4", ".nf", ...body.map((b) => line(escape(b))), ".fi", ".RE");
    } else if (heading) {
      const level = heading[1].length;
      out.push(level <= top ? `.SH ${escape(heading[2].toUpperCase())}` : `.SS ${inline(heading[2])}`);
      i++;
    } else if (/^\|/.test(l)) {
      const header = cells(l);
      i += 2; // the header and the |---| line
      for (; i < lines.length && /^\|/.test(lines[i]); i++) {
        const row = cells(lines[i]);
        out.push(".TP", inline(row[0] ?? ""));
        // The first column is the tag; the others go under it, each named by its header (but a last
        // "meaning" column, which needs no name).
        const named = (k) => header.length > 2 && !(k === header.length - 1 && header[k] === "meaning");
        const rest = row.map((c, k) => (k === 0 || c === "" ? null : named(k) ? `${header[k]}: ${c}` : c)).filter((c) => c !== null);
        out.push(line(inline(rest.join("; ") || " ")));
      }
    } else if (/^\s*(?:[-*]|\d+\.) /.test(l)) {
      // A list item with its indented continuation lines.
      const bullet = /^\s*(\d+\.)/.exec(l)?.[1];
      const text = [l.replace(/^\s*(?:[-*]|\d+\.) /, "")];
      for (i++; i < lines.length && /^\s+\S/.test(lines[i]) && !/^\s*(?:[-*]|\d+\.) /.test(lines[i]); i++) text.push(lines[i].trim());
      out.push(bullet ? `.IP ${bullet} 4` : ".IP \\(bu 2", line(inline(text.join(" "))));
    } else {
      const text = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#+ |```|\||\s*(?:[-*]|\d+\.) )/.test(lines[i]); i++) text.push(lines[i].trim());
      out.push(".PP", line(inline(text.join(" "))));
    }
  }
  return out;
}

const readme = readFileSync(join(root, "README.md"), "utf8");
const sections = readme.split(/^(?=## )/m);
const intro = (sections.shift() ?? "").replace(/^# .*\n/, "").trim().split(/\n\n/);
const commands = /```sh\n([\s\S]*?)```/.exec(sections.find((s) => s.startsWith("## The commands people run")) ?? "")?.[1] ?? "";

const out = [
  `.TH MCP\\-REAPER 1 "" "mcp\\-reaper ${escape(pkg.version)}" "User Commands"`,
  // No hyphenation, ragged right: option names and paths stay whole.
  ".nh",
  ".ad l",
  ".SH NAME",
  `mcp\\-reaper \\- ${escape(pkg.description.replace(/^./, (c) => c.toLowerCase()).replace(/\.$/, ""))}`,
  ".SH SYNOPSIS",
  ".nf",
  ...commands.trim().split("\n").map((c) => line(`\\fB${escape(c.replace(/\s+#.*$/, "").trim())}\\fR`)),
  "mcp\\-reaper demo",
  "mcp\\-reaper \\-\\-help",
  ".fi",
  ".SH DESCRIPTION",
  ...intro.flatMap((p) => [".PP", line(inline(p.replace(/\n/g, " ")))]),
];
const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md") && f !== "README.md").map((f) => f.slice(0, -3));
const rank = (name) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);
docs.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
for (const name of docs) out.push(...convert(readFileSync(join(root, "docs", `${name}.md`), "utf8"), 1));
for (const s of sections) {
  const title = /^## (.*)/.exec(s)?.[1] ?? "";
  if (!README_SKIP.has(title)) out.push(...convert(s, 2));
}
out.push(".SH SEE ALSO", "\\fBsystemctl\\fR(1), \\fBsystemd.exec\\fR(5), \\fBproc\\fR(5), \\fBkill\\fR(1)", "");

const file = join(root, "dist", "man", "mcp-reaper.1");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, out.join("\n"));
