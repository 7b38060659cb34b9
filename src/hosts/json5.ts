// Sense (pure): a small tolerant JSON reader for host configs, which are hand-edited JSON5 in the wild.
//
// OpenClaw reads openclaw.json as JSON5, VS Code reads mcp.json / settings.json as JSONC, and people
// leave `// comments` and trailing commas in Claude Desktop configs too. This reads what those hosts
// accept: // and /* */ comments, trailing commas, 'single-quoted' strings, unquoted identifier keys,
// hex, leading/trailing-dot numbers, +/-Infinity and NaN. Not a validator: it never executes anything.

/** The text is not (tolerant) JSON. `line` and `column` are 1-based. */
export class ConfigSyntaxError extends Error {
  override readonly name = "ConfigSyntaxError";
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} at line ${line}, column ${column}`);
  }
}

const ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "0": "\0" };
const MAX_DEPTH = 256; // a config nested deeper than this is not a config; refuse rather than blow the stack

export function parseJson5(text: string): unknown {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 BOM, as Windows editors write it

  const fail = (message: string, at = i): never => {
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    throw new ConfigSyntaxError(message, line, at - before.lastIndexOf("\n"));
  };

  const skipSpace = (): void => {
    for (;;) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\u00a0" || c === "\u2028" || c === "\u2029") i++;
      else if (c === "/" && text[i + 1] === "/") {
        const nl = text.indexOf("\n", i);
        i = nl < 0 ? text.length : nl + 1;
      } else if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        if (end < 0) fail("unterminated /* comment");
        i = end + 2;
      } else return;
    }
  };

  const string = (): string => {
    const quote = text[i++];
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i++] as string;
      if (c === quote) return out;
      if (c === "\n") fail("newline in string", i - 1);
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++] as string;
      if (e === "u") {
        const hex = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
      } else if (e === "x") {
        const hex = text.slice(i, i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail("bad \\x escape");
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
      } else if (e === "\r") {
        if (text[i] === "\n") i++; // line continuation
      } else if (e !== "\n" && e !== "\u2028" && e !== "\u2029") {
        out += ESCAPES[e] ?? e;
      }
    }
  };

  const identifier = (): string => {
    const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i, i + 256));
    if (!m) fail(`unexpected ${JSON.stringify(text[i] ?? "end of input")}`);
    i += (m as RegExpExecArray)[0].length;
    return (m as RegExpExecArray)[0];
  };

  const number = (): number => {
    const m = /^[+-]?(?:0[xX][0-9a-fA-F]+|Infinity|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) fail("bad number");
    const word = (m as RegExpExecArray)[0];
    i += word.length;
    const sign = word.startsWith("-") ? -1 : 1;
    const body = word.replace(/^[+-]/, "");
    if (/^0[xX]/.test(body)) return sign * parseInt(body.slice(2), 16);
    return sign * Number(body);
  };

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    skipSpace();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (;;) {
        skipSpace();
        if (text[i] === "}") {
          i++;
          return obj;
        }
        const key = text[i] === '"' || text[i] === "'" ? string() : identifier();
        skipSpace();
        if (text[i] !== ":") fail(`expected ":" after key ${JSON.stringify(key)}`);
        i++;
        obj[key] = value(depth + 1);
        skipSpace();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") fail('expected "," or "}"');
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      for (;;) {
        skipSpace();
        if (text[i] === "]") {
          i++;
          return arr;
        }
        arr.push(value(depth + 1));
        skipSpace();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") fail('expected "," or "]"');
      }
    }
    if (c === '"' || c === "'") return string();
    if (c === undefined) fail("unexpected end of input");
    if (/[-+.\d]/.test(c as string) || text.startsWith("Infinity", i) || text.startsWith("NaN", i)) return number();
    const word = identifier();
    if (word === "true") return true;
    if (word === "false") return false;
    if (word === "null") return null;
    return fail(`unexpected word ${JSON.stringify(word)}`, i - word.length);
  };

  const result = value(0);
  skipSpace();
  if (i < text.length) fail("unexpected text after the value");
  return result;
}
