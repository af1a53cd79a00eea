// Push against long-poll pull, in the same run on the same server: WebSocket
// subscribers (GET /v1/queues/:name/subscribe, acks over the socket) and
// long-polling receivers (receive with a wait, then delete; a waiting poller is
// woken the moment a send commits, so its 1 s wait, which lets a phase end
// promptly, measures the same as 20 s would).
//   send-to-delivery latency: one producer sends one message at a time, paced,
//     while the consumers wait; each message's time from the start of its send
//     request to its arrival at a consumer.
//   throughput: a backlog filled untimed, then drained by the consumers; msgs/s
//     over all rounds (drained messages / seconds spent draining).
// Both use `consumers` clients: subscribers with credit 10 each, or pollers
// asking for 10 at a time. The two modes take turns, round by round (pull
// first in odd rounds, push first in even ones), so a drift of the machine
// during the phase reaches both alike; the drain rounds go on until each mode
// has drained for at least --min-seconds, like every other phase of the bench.
import { performance } from "node:perf_hooks";
import { fill, summary } from "./measure.mjs";
import { postJson } from "./http.mjs";

const SECRET = "local-dev-secret";
const AUTH = { authorization: `Bearer ${SECRET}` };
const CREDITS = 10;
const PACE_MS = 5;
const ACK_LINGER_MS = 2;
const LATENCY_ROUNDS = 4;
const MIN_DRAIN_ROUNDS = 3;
const MODES = ["pull", "push"];

export async function pushVsPull(url, options, progress, queueName, edgeqTarget) {
  const consumers = Math.min(options.concurrency, 4);
  const latencyMessages = options.quick ? 200 : 1_000;
  const backlog = options.minMessages;
  const result = { consumers, latencyMessages, latencyRounds: LATENCY_ROUNDS, backlog };
  const turns = (round) => (round % 2 === 0 ? MODES : [...MODES].reverse());

  const latencies = { pull: [], push: [] };
  const perRound = Math.ceil(latencyMessages / LATENCY_ROUNDS);
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const count = Math.min(perRound, latencyMessages - round * perRound);
    for (const mode of turns(round)) {
      const target = await edgeqTarget(url, queueName(`${mode}-lat${round}`));
      progress.note(`${mode}: send-to-delivery latency, round ${round + 1} of ${LATENCY_ROUNDS}, ${count} messages, ${consumers} consumers`);
      latencies[mode].push(...(await deliveryLatency(url, target, mode, consumers, count, options.bodySize)));
    }
  }

  const drains = { pull: [], push: [] };
  const targets = {};
  for (const mode of MODES) targets[mode] = await edgeqTarget(url, queueName(`${mode}-tp`));
  const seconds = (mode) => drains[mode].reduce((sum, d) => sum + d.seconds, 0);
  for (let round = 0; round < MIN_DRAIN_ROUNDS || MODES.some((mode) => seconds(mode) < options.minSeconds); round++) {
    for (const mode of turns(round)) {
      await fill(targets[mode], { count: backlog, batch: 10, concurrency: options.concurrency, bodySize: options.bodySize });
      progress.note(`${mode}: drain round ${round + 1}, a backlog of ${backlog}`);
      drains[mode].push(await drain(url, targets[mode], mode, consumers, backlog));
    }
  }
  for (const mode of MODES) {
    const messages = drains[mode].reduce((sum, d) => sum + d.messages, 0);
    // Each round's clock starts at its first delivery: the messages after it, over the time they took.
    const timed = messages - drains[mode].length;
    const total = seconds(mode);
    result[mode] = {
      latency: summary(latencies[mode]),
      throughput: { rounds: drains[mode].length, messages, seconds: Math.round(total * 100) / 100, msgsPerSec: Math.round(timed / total), perRound: drains[mode].map((d) => d.msgsPerSec) },
    };
  }
  const ratios = drains.push.map((d, i) => d.msgsPerSec / drains.pull[i].msgsPerSec).sort((a, b) => a - b);
  const two = (value) => Math.round(value * 100) / 100;
  result.drainRatio = { overall: two(result.push.throughput.msgsPerSec / result.pull.throughput.msgsPerSec), perRoundMin: two(ratios[0]), perRoundMedian: two(ratios[Math.floor(ratios.length / 2)]), perRoundMax: two(ratios.at(-1)) };
  return result;
}

/** Starts `consumers` consumers of `mode`; `onMessage(body)` per delivery. Returns a stop function. */
function startConsumers(url, target, mode, consumers, onMessage) {
  return mode === "push" ? subscribers(url, target.queue, consumers, onMessage) : pollers(url, target.queue, consumers, onMessage);
}

async function deliveryLatency(url, target, mode, consumers, count, bodySize) {
  const started = new Map();
  const latencies = [];
  let resolveAll;
  const all = new Promise((resolve) => (resolveAll = resolve));
  const stop = await startConsumers(url, target, mode, consumers, (body) => {
    const t0 = started.get(body.slice(0, body.indexOf(":")));
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    if (latencies.length === count) resolveAll();
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // the consumers are waiting before the first send
  for (let i = 0; i < count; i++) {
    const id = `l${i}`;
    started.set(id, performance.now());
    await target.send([`${id}:`.padEnd(bodySize, "x")]);
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  }
  await all;
  await stop();
  return latencies;
}

export async function drain(url, target, mode, consumers, count) {
  // From the first delivery to the last, so that opening sockets or a first poll is not counted.
  let got = 0;
  let first = 0;
  let resolveAll;
  const all = new Promise((resolve) => (resolveAll = resolve));
  const stop = await startConsumers(url, target, mode, consumers, () => {
    if (got++ === 0) first = performance.now();
    if (got === count) resolveAll();
  });
  await all;
  const seconds = (performance.now() - first) / 1000;
  await stop();
  return { messages: got, seconds, msgsPerSec: Math.round((got - 1) / seconds) };
}

/** WebSocket subscribers; acks of messages that arrive within ACK_LINGER_MS go out as one frame (as the SDK does). */
async function subscribers(url, queue, count, onMessage) {
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/queues/${queue}/subscribe?credits=${CREDITS}`, ["edgeq.v1", `edgeq.bearer.${SECRET}`]);
    let acks = [];
    ws.addEventListener("open", () => resolve(ws));
    ws.addEventListener("error", () => reject(new Error("subscribe failed")));
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data));
      if (frame.type !== "message") return;
      onMessage(frame.message.body);
      if (acks.length === 0) setTimeout(() => {
        ws.send(JSON.stringify({ type: "ack", receiptHandles: acks }));
        acks = [];
      }, ACK_LINGER_MS);
      acks.push(frame.message.receiptHandle);
    });
  })));
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last acks leave
    for (const ws of sockets) ws.close(1000);
  };
}

/** Long-polling receivers: receive up to 10 (wait 20 s), hand each over, delete the batch. */
async function pollers(url, queue, count, onMessage) {
  let stopping = false;
  const receiveUrl = new URL(`${url}/v1/queues/${queue}/messages/receive`);
  const deleteUrl = new URL(`${url}/v1/queues/${queue}/messages/delete`);
  const loops = Array.from({ length: count }, async () => {
    while (!stopping) {
      const { messages } = await postJson(receiveUrl, { maxMessages: 10, waitSeconds: stopping ? 0 : 1 }, AUTH);
      for (const message of messages) onMessage(message.body);
      if (messages.length > 0) await postJson(deleteUrl, { receiptHandles: messages.map((m) => m.receiptHandle) }, AUTH);
    }
  });
  return async () => {
    stopping = true;
    await Promise.all(loops);
  };
}
