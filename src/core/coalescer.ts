// Group commit, seen from the Worker: the commands concurrent requests in this
// isolate send to one partition travel in one `Partition.run` call, so they
// cost one RPC and one SQLite commit instead of one each. Nothing waits to
// fill a batch: a command goes out at once when its partition has no call in
// flight, and the commands that arrive while one is in flight go together in
// the next. Every caller is answered only when the call carrying its command
// returns, which is after that transaction is durable (the Partition's output
// gate holds the reply until then).
//
// Each call is made by one of the requests whose commands it carries (the
// "leader", the oldest waiting), from its own request context: workerd lets a
// request do I/O only on its own behalf. A request waiting for its answer
// keeps a timer armed, which is what tells workerd it is not hung (a request
// waiting on nothing but another request's promise is cancelled as hung), and
// keeps itself alive with the Worker's waitUntil even if its client goes
// away. When that timer finds its command still queued after STALL_MS (the
// call ahead never came back), the command leaves the queue and goes out on
// its own, and the next command starts a fresh lane; a command that went out
// in a call that never answers is given up with an error after GIVE_UP_MS,
// as a lost connection would be.
import type { CommandResult, PartitionCommand } from "../objects/partition/partition.js";

/** Caps on one call: commands, and bytes of message bodies and attributes (a DO call carries at most 32 MiB). */
export const MAX_BATCH_COMMANDS = 64;
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const STALL_MS = 10_000;
const GIVE_UP_MS = 60_000;
const MAX_LANES = 10_000;

export type Dispatch = (commands: PartitionCommand[]) => Promise<CommandResult[]>;

interface Waiting {
  command: PartitionCommand;
  bytes: number;
  dispatch: Dispatch;
  keepAlive: (done: Promise<unknown>) => void;
  /** In a call that went out. */
  taken: boolean;
  /** Resolves with this command's answer, with "lead": make the next call, or with "alone": make a call of its own. */
  settle: (outcome: CommandResult | "lead" | "alone") => void;
  fail: (error: unknown) => void;
}

interface Lane {
  queue: Waiting[];
  /** When the call now in flight went out; null when none is. */
  since: number | null;
}

const lanes = new Map<string, Lane>();

/**
 * Runs one command on the partition named `key`, together with whatever else
 * this isolate has for it at the time. `dispatch` makes the call with the
 * caller's own stub.
 */
export async function submit(key: string, command: PartitionCommand, dispatch: Dispatch, keepAlive: (done: Promise<unknown>) => void): Promise<CommandResult> {
  let lane = laneFor(key);
  if (lane.since !== null && Date.now() - lane.since > STALL_MS) lanes.set(key, (lane = { queue: [], since: null })); // what waits on the old one goes alone
  const waiting = { command, bytes: commandBytes(command), dispatch, keepAlive, taken: false } as Waiting;
  lane.queue.push(waiting);
  if (lane.since === null) return call(lane, waiting);
  const answer = new Promise<CommandResult | "lead" | "alone">((resolve, reject) => {
    waiting.settle = resolve;
    waiting.fail = reject;
  });
  keepAlive(answer);
  const outcome = await watched(lane, waiting, answer);
  if (outcome === "alone") return (await dispatch([command]))[0]!;
  if (outcome === "lead") return call(lane, waiting);
  return outcome;
}

/** Waits for `answer` with a timer armed (see the top of this file). */
async function watched<T>(lane: Lane, waiting: Waiting, answer: Promise<T>): Promise<T> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = (): void => {
    const queued = lane.queue.indexOf(waiting);
    if (queued >= 0 && !waiting.taken) {
      lane.queue.splice(queued, 1);
      waiting.settle("alone");
    } else if (Date.now() - started >= GIVE_UP_MS) {
      waiting.fail(new Error(`partition call carrying this ${waiting.command.kind} did not answer within ${GIVE_UP_MS} ms`));
    } else {
      timer = setTimeout(check, STALL_MS);
    }
  };
  timer = setTimeout(check, STALL_MS);
  try {
    return await answer;
  } finally {
    clearTimeout(timer);
  }
}

/** Makes the next call with the commands waiting (the leader first), answers each, and hands on the lead. */
async function call(lane: Lane, leader: Waiting): Promise<CommandResult> {
  const batch = take(lane.queue);
  lane.since = Date.now();
  try {
    const done = leader.dispatch(batch.map((waiting) => waiting.command));
    leader.keepAlive(done);
    const results = await done;
    batch.forEach((waiting, i) => waiting !== leader && waiting.settle(results[i]!));
    return results[0]!;
  } catch (error) {
    for (const waiting of batch) if (waiting !== leader) waiting.fail(error);
    throw error;
  } finally {
    lane.since = null;
    if (lane.queue.length > 0) lead(lane);
  }
}

function lead(lane: Lane): void {
  lane.since = Date.now();
  lane.queue[0]!.settle("lead");
}

/** The oldest waiting commands that fit in one call (always at least one). */
function take(queue: Waiting[]): Waiting[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < MAX_BATCH_COMMANDS) {
    bytes += queue[count]!.bytes;
    if (count > 0 && bytes > MAX_BATCH_BYTES) break;
    count++;
  }
  const batch = queue.splice(0, count);
  for (const waiting of batch) waiting.taken = true;
  return batch;
}

function laneFor(key: string): Lane {
  let lane = lanes.get(key);
  if (lane) return lane;
  if (lanes.size >= MAX_LANES) for (const [name, idle] of lanes) if (idle.since === null && idle.queue.length === 0) lanes.delete(name);
  lanes.set(key, (lane = { queue: [], since: null }));
  return lane;
}

function commandBytes(command: PartitionCommand): number {
  if (command.kind !== "send") return 64;
  let bytes = 0;
  for (const message of command.messages) bytes += (typeof message.body === "string" ? message.body.length * 3 : (message.body as ArrayBuffer).byteLength) + (message.attributes?.length ?? 0) + 256;
  return bytes;
}
