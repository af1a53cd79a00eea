// Server and client CPU per message of push against long-poll pull: one drain
// of N messages per mode (pull, then push), R times on one bench-build
// server; the server's CPU is its process tree's utime + stime from /proc
// over the drain, the client's this process's (docs/performance.md, issue 17).
// Usage (Node 22, as npm scripts have it): N=6000 npx node bench/push-cpu.mjs [checkout] [rounds]
import { readdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const root = process.argv[2] ?? new URL("..", import.meta.url).pathname;
const { startServer } = await import(pathToFileURL(`${root}/bench/lib/server.mjs`));
const { drain } = await import(pathToFileURL(`${root}/bench/lib/push-run.mjs`));
const { edgeqTarget } = await import(pathToFileURL(`${root}/bench/lib/clients.mjs`));
const { fill } = await import(pathToFileURL(`${root}/bench/lib/measure.mjs`));
const { closeAgent } = await import(pathToFileURL(`${root}/bench/lib/http.mjs`));

/** Fields of /proc/<pid>/stat after the command name. */
const stat = (pid) => {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
};

/** `pid` and its descendants. */
function tree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(stat(entry)[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const all = [];
  for (const stack = [pid]; stack.length > 0; ) {
    const next = stack.pop();
    all.push(next);
    stack.push(...(children.get(next) ?? []));
  }
  return all;
}

/** CPU milliseconds used so far by `pids` (clock ticks of 10 ms). */
const cpuMs = (pids) => pids.reduce((sum, pid) => {
  try {
    const fields = stat(pid);
    return sum + (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return sum;
  }
}, 0);

const count = Number(process.env.N ?? 6000);
const server = await startServer({ mode: "self", build: "bench" });
try {
  for (let round = 0; round < Number(process.argv[3] ?? 3); round++) {
    for (const mode of ["pull", "push"]) {
      const target = await edgeqTarget(server.url, `cpu-${mode}-${round}-${Date.now()}`);
      await fill(target, { count, batch: 10, concurrency: 16, bodySize: 200 });
      const pids = tree(server.pid);
      const serverBefore = cpuMs(pids);
      const clientBefore = process.cpuUsage();
      const result = await drain(server.url, target, mode, 4, count);
      const serverMs = cpuMs(pids) - serverBefore;
      const client = process.cpuUsage(clientBefore);
      const clientMs = (client.user + client.system) / 1000;
      console.log(`${mode} round ${round + 1}: ${result.msgsPerSec} msg/s; server ${(serverMs / count).toFixed(3)} ms CPU per message, client ${(clientMs / count).toFixed(3)} ms`);
    }
  }
} finally {
  await server.stop();
  server.removeState();
  closeAgent?.();
}
