// CPU used during a phase: this process (the load generator) as a share of one
// core, and the whole machine as a share of all its cores. A generator near
// 100% of a core would be the bottleneck; the machine figure shows whether the
// system under test had CPU left (on 2 cores, client and server share them).
import { cpus } from "node:os";

function machineTimes() {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Starts a meter; the returned function gives `{ clientCorePct, machinePct }` since then. */
export function cpuMeter() {
  const client = process.cpuUsage();
  const machine = machineTimes();
  const start = process.hrtime.bigint();
  return () => {
    const elapsedUs = Number(process.hrtime.bigint() - start) / 1000;
    const used = process.cpuUsage(client);
    const now = machineTimes();
    const total = now.total - machine.total;
    return {
      clientCorePct: Math.round(((used.user + used.system) / elapsedUs) * 100),
      machinePct: total > 0 ? Math.round(((now.busy - machine.busy) / total) * 100) : null,
    };
  };
}
