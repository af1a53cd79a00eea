// The architecture as a test: which folder of src/ may import which, so a
// lower layer never reaches up and a protocol adapter never talks to a Durable
// Object module; and no module grows past 400 lines. See docs/architecture.md.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

type Layer = "shared" | "objects" | "core" | "front" | "adapter" | "entry" | "bench" | "sdk" | "cli" | "server";

/** What each layer may import, and how: "value" (anything) or "type" (type-only imports). */
const ALLOWED: Record<Layer, Partial<Record<Layer, "value" | "type">>> = {
  shared: { shared: "value" },
  objects: { shared: "value", objects: "value" },
  core: { shared: "value", core: "value", objects: "type" },
  front: { shared: "value", core: "value", front: "value", objects: "type" },
  adapter: { shared: "value", core: "value", front: "value", adapter: "value" },
  entry: { shared: "value", core: "value", front: "value", adapter: "value", objects: "value", bench: "value" },
  bench: { shared: "value", core: "value", front: "value", adapter: "value", objects: "value", bench: "value", entry: "value" },
  sdk: { shared: "value", sdk: "value" },
  cli: { shared: "value", sdk: "value", cli: "value", server: "value" },
  server: { shared: "value", server: "value" },
};

function layerOf(file: string): Layer | null {
  const path = relative(SRC, file).split("/");
  if (path[0] === "worker") {
    if (path[1] === "rest" || path[1] === "sqs") return "adapter";
    if (path[1] === "index.ts" || path[1] === "app.ts") return "entry";
    return "front";
  }
  const top = path[0];
  return top === "shared" || top === "objects" || top === "core" || top === "bench" || top === "sdk" || top === "cli" || top === "server" ? top : null;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

interface Import {
  target: string;
  typeOnly: boolean;
}

/** Static imports and re-exports, and dynamic import() of a literal. */
function importsOf(text: string): Import[] {
  const found: Import[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\sfrom\s+"([^"]+)"/gms)) found.push({ target: match[3]!, typeOnly: match[2] !== undefined });
  for (const match of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) found.push({ target: match[1]!, typeOnly: false });
  return found;
}

describe("layers", () => {
  const files = sources(SRC);

  it("finds the modules of every layer", () => {
    const layers = new Set(files.map(layerOf));
    for (const layer of Object.keys(ALLOWED)) expect(layers, layer).toContain(layer);
  });

  it("imports only downwards, and adapters never import a Durable Object module", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      if (!from) continue;
      for (const { target, typeOnly } of importsOf(readFileSync(file, "utf8"))) {
        if (!target.startsWith(".")) continue;
        const to = layerOf(resolve(dirname(file), target));
        if (!to) continue;
        const allowed = ALLOWED[from][to];
        if (allowed === "value" || (allowed === "type" && typeOnly)) continue;
        violations.push(`${relative(SRC, file)} (${from}) imports ${target} (${to}${typeOnly ? ", type only" : ""})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("catches the imports it is meant to catch", () => {
    expect(importsOf('import { a } from "../objects/x.js";\nexport type { B } from "./y.js";\nconst m = await import("../core/z.js");')).toEqual([
      { target: "../objects/x.js", typeOnly: false },
      { target: "./y.js", typeOnly: true },
      { target: "../core/z.js", typeOnly: false },
    ]);
    expect(ALLOWED.adapter.objects).toBeUndefined();
    expect(ALLOWED.core.objects).toBe("type");
    expect(ALLOWED.shared.core).toBeUndefined();
  });

  it("keeps every module under 400 lines", () => {
    const long = files.map((file) => [relative(SRC, file), readFileSync(file, "utf8").split("\n").length] as const).filter(([, lines]) => lines > 400);
    expect(long).toEqual([]);
  });
});
