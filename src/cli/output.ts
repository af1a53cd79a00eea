// How the CLI prints: JSON for scripts (--json), aligned tables and
// key/value lists for people. Results go to stdout, progress and errors to stderr.
/// <reference types="node" />

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON document per line, for streams such as `edgeq tail --json`. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printTable(headers: string[], rows: string[][]): void {
  if (rows.length === 0) return;
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join("\n")}\n`);
}

export function printFields(fields: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(fields).map((key) => key.length));
  const text = Object.entries(fields).map(([key, value]) => `${key.padEnd(width)}  ${typeof value === "string" ? value : JSON.stringify(value)}`);
  process.stdout.write(`${text.join("\n")}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Bodies on one line: newlines shown as \n so each message stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, "\\n");
}
