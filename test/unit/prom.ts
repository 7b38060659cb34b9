// Test helper: a strict reader of the Prometheus text exposition format (version 0.0.4), written from the
// format's description and independent of src/report/metrics.ts, to check what the reaper writes.
export interface Family {
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function unescape(text: string, allowed: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (!allowed.includes(c)) throw new Error(`bad escape \\${c}`);
    return c === "n" ? "\n" : c;
  });
}

/** Parses the file; throws on anything the format does not allow (and on a sample before its TYPE line). */
export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the file must end with a newline");
  const families = new Map<string, Family>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      const [, kind, name, ...rest] = line.split(" ");
      if (!name || !NAME.test(name)) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
      const f = families.get(name) ?? { type: "untyped", help: "", samples: [] };
      if (f.samples.length > 0) throw new Error(`${kind} for ${name} after its samples`);
      if (kind === "HELP") f.help = unescape(rest.join(" "), "\\n");
      else {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest[0] ?? "")) throw new Error(`bad type ${rest[0]}`);
        f.type = rest[0] as string;
      }
      families.set(name, f);
      continue;
    }
    if (line.startsWith("#") || line.trim() === "") continue;
    let i = 0;
    while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
    const name = line.slice(0, i);
    if (!NAME.test(name)) throw new Error(`bad sample name ${JSON.stringify(name)}`);
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      while (line[i] !== "}") {
        const eq = line.indexOf("=", i);
        const key = line.slice(i, eq);
        if (!LABEL.test(key) || line[eq + 1] !== '"') throw new Error(`bad label at ${JSON.stringify(line.slice(i))}`);
        let j = eq + 2;
        let raw = "";
        while (line[j] !== '"') {
          if (j >= line.length) throw new Error("unterminated label value");
          if (line[j] === "\\") raw += line[j++];
          raw += line[j++];
        }
        if (key in labels) throw new Error(`label ${key} twice`);
        labels[key] = unescape(raw, '\\"n');
        i = j + 1;
        if (line[i] === ",") i++;
        else if (line[i] !== "}") throw new Error(`expected , or } in ${JSON.stringify(line)}`);
      }
      i++;
    }
    const [value, timestamp, extra] = line.slice(i).trim().split(" ");
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`bad sample ${JSON.stringify(line)}`);
    const v = value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : value === "NaN" ? NaN : Number(value);
    if (value === undefined || value === "" || (Number.isNaN(v) && value !== "NaN")) throw new Error(`bad value in ${JSON.stringify(line)}`);
    const f = families.get(name);
    if (!f) throw new Error(`sample ${name} without a TYPE line`);
    if (f.type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name} should end in _total`);
    if (f.type === "counter" && v < 0) throw new Error(`counter ${name} is negative`);
    f.samples.push({ labels, value: v });
  }
  return families;
}
