// `edgeq delete` and `edgeq release`: what to do with messages `edgeq receive`
// leased, by the receipt handles it printed. Delete acknowledges them;
// release hands them back (change visibility, at once by default) so another
// consumer gets them now instead of when the lease ends. Handles may come
// from the command line or, with `-`, one per line on stdin.
/// <reference types="node" />
import { Command } from "commander";
import { MAX_BATCH_ENTRIES, MAX_VISIBILITY_TIMEOUT } from "../../shared/limits.js";
import type { EntryError } from "../../sdk/index.js";
import { UsageError } from "../config.js";
import { contextOf, integer } from "../context.js";
import { printJson, printLine } from "../output.js";

interface Failure {
  receiptHandle: string;
  code: string;
  message: string;
}

export function deleteCommand(): Command {
  return new Command("delete")
    .description("acknowledge received messages: delete them by the receipt handles `edgeq receive` printed")
    .argument("<queue>", "queue name")
    .argument("<handles...>", "receipt handles, or - to read them from stdin, one per line")
    .action(async (queueName: string, given: string[], _options, command: Command) => {
      const { client, settings } = contextOf(command);
      const handles = await receiptHandles(given);
      const queue = client.queue(queueName);
      const deleted: string[] = [];
      const notDeleted: string[] = [];
      const failed = await inBatches(handles, async (chunk) => {
        const batch = await queue.deleteBatch(chunk);
        for (const ok of batch.successful) (ok.deleted ? deleted : notDeleted).push(chunk[ok.index]!);
        return batch.failed;
      });
      if (settings.json) printJson({ queue: queueName, deleted, notDeleted, failed });
      else {
        printLine(`deleted ${count(deleted.length)} from ${queueName}`);
        // As SQS does, a handle from an older lease succeeds without deleting: the message was received again since.
        if (notDeleted.length > 0) printLine(`not deleted: ${count(notDeleted.length)} whose lease had ended (received again since, or already deleted)`);
      }
      fail(failed, handles.length);
    });
}

export function releaseCommand(): Command {
  return new Command("release")
    .description("hand received messages back: make them visible again now (or after --after seconds) instead of when their lease ends")
    .argument("<queue>", "queue name")
    .argument("<handles...>", "receipt handles, or - to read them from stdin, one per line")
    .option("--after <seconds>", `seconds until they are visible again (0..${MAX_VISIBILITY_TIMEOUT})`, integer(0, MAX_VISIBILITY_TIMEOUT), 0)
    .action(async (queueName: string, given: string[], options: { after: number }, command: Command) => {
      const { client, settings } = contextOf(command);
      const handles = await receiptHandles(given);
      const queue = client.queue(queueName);
      const released: string[] = [];
      const failed = await inBatches(handles, async (chunk) => {
        const batch = await queue.changeVisibilityBatch(chunk.map((receipt) => ({ receipt, visibilityTimeout: options.after })));
        for (const ok of batch.successful) released.push(chunk[ok.index]!);
        return batch.failed;
      });
      if (settings.json) printJson({ queue: queueName, released, visibleAfterSeconds: options.after, failed });
      else printLine(`released ${count(released.length)} in ${queueName}: visible again ${options.after === 0 ? "now" : `in ${options.after} s`}`);
      fail(failed, handles.length);
    });
}

/** Runs `call` on chunks of at most 10 handles; returns the entries the server refused, by handle. */
async function inBatches(handles: string[], call: (chunk: string[]) => Promise<EntryError[]>): Promise<Failure[]> {
  const failed: Failure[] = [];
  for (let start = 0; start < handles.length; start += MAX_BATCH_ENTRIES) {
    const chunk = handles.slice(start, start + MAX_BATCH_ENTRIES);
    for (const entry of await call(chunk)) failed.push({ receiptHandle: chunk[entry.index]!, code: entry.code, message: entry.message });
  }
  return failed;
}

async function receiptHandles(given: string[]): Promise<string[]> {
  if (!given.includes("-")) return given;
  if (given.length > 1) throw new UsageError("give receipt handles as arguments or - for stdin, not both");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const handles = Buffer.concat(chunks).toString("utf8").split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (handles.length === 0) throw new UsageError("no receipt handles on stdin");
  return handles;
}

/** Exit status 1 when the server refused any handle, naming the first. */
function fail(failed: Failure[], total: number): void {
  if (failed.length === 0) return;
  const first = failed[0]!;
  throw new Error(`${failed.length} of ${total} receipt handles failed; ${first.receiptHandle}: ${first.code}: ${first.message}`);
}

function count(n: number): string {
  return `${n} message${n === 1 ? "" : "s"}`;
}
