// The options file: MCP_REAPER_* settings as KEY=VALUE lines, the format of a systemd EnvironmentFile, so
// one file serves `EnvironmentFile=` (timer runs) and `--options-file` (the loop, re-read on SIGHUP).
import { UsageError } from "../config.js";
import { errorCode } from "../proc/read.js";
import { readSmallFile } from "../files.js";

/**
 * Parses what systemd's EnvironmentFile= accepts in practice: blank lines, `#` or `;` comments,
 * `KEY=VALUE` with spaces around the key ignored, a value in double quotes (with \\ \" \$ \` \n escapes)
 * or single quotes (literal), or bare (trailing spaces dropped; a final backslash joins the next line).
 * Throws UsageError naming the line.
 */
export function parseOptionsFile(text: string, where: string): Map<string, string> {
  const vars = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] as string).replace(/\r$/, "");
    if (/^\s*([#;]|$)/.test(line)) continue;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line.trim() : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`${where}:${lineNo}: expected KEY=VALUE, got ${JSON.stringify(line.slice(0, 60))}`);
    }
    let rest = line.slice(eq + 1).replace(/^\s+/, "");
    let value: string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // A quoted value may span lines; collect until the closing quote.
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${(lines[++i] as string).replace(/\r$/, "")}`;
        end = closingQuote(body, quote);
      }
      if (end < 0) throw new UsageError(`${where}:${lineNo}: ${key}: missing closing ${quote}`);
      if (body.slice(end + 1).trim() !== "") throw new UsageError(`${where}:${lineNo}: ${key}: text after the closing ${quote}`);
      value = quote === "'" ? body.slice(0, end) : body.slice(0, end).replace(/\\([\\"$`])/g, "$1").replace(/\\\n/g, "").replace(/\\n/g, "\n");
    } else {
      while (rest.endsWith("\\") && i + 1 < lines.length) rest = rest.slice(0, -1) + (lines[++i] as string).replace(/\r$/, "");
      value = rest.replace(/\s+$/, "");
    }
    vars.set(key, value);
  }
  return vars;
}

function closingQuote(body: string, quote: string): number {
  for (let j = 0; j < body.length; j++) {
    if (quote === '"' && body[j] === "\\") j++;
    else if (body[j] === quote) return j;
  }
  return -1;
}

/**
 * Reads the options file. A missing file is not an error (null: the caller warns and goes on with the
 * command line and the environment, and a later SIGHUP picks the file up); unreadable or malformed is.
 */
export function readOptionsFile(path: string): Map<string, string> | null {
  let text: string;
  try {
    text = readSmallFile(path);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return null;
    throw new UsageError(`cannot read options file ${path}: ${errorCode(err) ?? String(err)}`);
  }
  return parseOptionsFile(text, path);
}

/** The options file as KEY=VALUE, or null (none given, or missing: warned, and a SIGHUP picks it up later). */
export function optionsFileVars(path: string | undefined, warn: (message: string) => void): Map<string, string> | null {
  if (path === undefined) return null;
  const vars = readOptionsFile(path);
  if (vars === null) warn(`options file ${path} does not exist; using the command line and the environment`);
  return vars;
}
