// A strict parser of the Prometheus text exposition format 0.0.4, written from
// its grammar: it throws on anything a Prometheus server would refuse or
// misread (a sample before its family's TYPE, a family split in two, a
// duplicate series, a bad name, label or value, histogram buckets that are
// not cumulative or miss +Inf, a summary or histogram without _sum/_count, no
// final line feed), so a test that parses `/metrics` proves the output valid.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a line feed");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!match) {
        if (!line.startsWith("# ") && line !== "#") throw new Error(`${where}: a comment starts with "# "`);
        return;
      }
      const [, kind, name, rest = ""] = match;
      if (!METRIC_NAME.test(name!)) throw new Error(`${where}: bad metric name`);
      let family = families.get(name!);
      if (family && family !== current) throw new Error(`${where}: family ${name} appears twice`);
      if (!family) {
        if (current) closed.add(current.name);
        family = { name: name!, type: "untyped", help: "", samples: [] };
        families.set(name!, family);
        current = family;
      }
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples`);
        family.type = rest as Family["type"];
      } else {
        family.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, current, families);
    if (!family) throw new Error(`${where}: sample of ${sample.name} without its family's TYPE right before it`);
    if (family !== current || closed.has(family.name)) throw new Error(`${where}: samples of ${family.name} are not together`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate series`);
    seen.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) checkFamily(family);
  return families;
}

function familyOf(name: string, current: Family | null, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const family = families.get(name.slice(0, -suffix.length));
    if (family && (family.type === "histogram" || (family.type === "summary" && suffix !== "_bucket"))) return family;
  }
  return current && current.name === name ? current : undefined;
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (!match) throw new Error(`${where}: not a sample`);
  const [, name, , body = "", raw] = match;
  const labels: Record<string, string> = {};
  let rest = body;
  while (rest.length > 0) {
    const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
    if (!label) throw new Error(`${where}: bad label list`);
    const [all, labelName, value, comma] = label;
    if (!LABEL_NAME.test(labelName!) || labelName!.startsWith("__")) throw new Error(`${where}: bad label name ${labelName}`);
    if (labelName! in labels) throw new Error(`${where}: label ${labelName} twice`);
    labels[labelName!] = value!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(all.length);
    if (!comma && rest.length > 0) throw new Error(`${where}: labels must be separated by commas`);
  }
  return { name: name!, labels, value: parseValue(raw!, where) };
}

function parseValue(raw: string, where: string): number {
  if (raw === "+Inf") return Infinity;
  if (raw === "-Inf") return -Infinity;
  if (raw === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`${where}: bad value ${raw}`);
  return Number(raw);
}

function checkFamily(family: Family): void {
  for (const sample of family.samples) {
    if (family.type === "counter" && !(sample.value >= 0)) throw new Error(`${family.name}: a counter must be >= 0`);
    if (family.type !== "histogram" && family.type !== "summary" && sample.name !== family.name) throw new Error(`${family.name}: sample ${sample.name} does not belong`);
  }
  if (family.type !== "histogram" && family.type !== "summary") return;
  const groups = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _le, quantile: _q, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  for (const [key, samples] of groups) {
    const sum = samples.find((s) => s.name === `${family.name}_sum`);
    const count = samples.find((s) => s.name === `${family.name}_count`);
    if (!sum || !count) throw new Error(`${family.name}${key}: needs _sum and _count`);
    if (family.type !== "histogram") continue;
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`);
    if (buckets.some((b) => b.labels.le === undefined)) throw new Error(`${family.name}${key}: a bucket without le`);
    const bounds = buckets.map((b) => parseValue(b.labels.le!, family.name));
    for (let i = 1; i < buckets.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${family.name}${key}: bucket bounds must increase`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family.name}${key}: buckets must be cumulative`);
    }
    if (bounds.at(-1) !== Infinity) throw new Error(`${family.name}${key}: the last bucket must be le="+Inf"`);
    if (buckets.at(-1)!.value !== count.value) throw new Error(`${family.name}${key}: the +Inf bucket must equal _count`);
  }
}

/** The value of `name` with exactly these labels, or undefined. */
export function valueOf(families: Map<string, Family>, family: string, labels: Record<string, string>, name = family): number | undefined {
  return families.get(family)?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
