// `edgeq redrive start|list|cancel <queue>`: move a dead-letter queue's
// messages back to the queues they came from (or elsewhere) once the cause is
// fixed, watch the move's progress, or stop it.
/// <reference types="node" />
import { Command } from "commander";
import { MAX_MOVE_RATE } from "../../shared/limits.js";
import type { RedriveTask } from "../../sdk/index.js";
import { contextOf, integer } from "../context.js";
import { formatTime, printJson, printLine, printTable } from "../output.js";

export function redriveCommand(): Command {
  const redrive = new Command("redrive").description("move dead-lettered messages back to their source queues");

  redrive
    .command("start <queue>")
    .description("start moving the messages of dead-letter queue <queue>; one move runs per queue at a time")
    .option("--to <queue>", "move them all to this queue instead of each one's source")
    .option("--rate <per-second>", `messages moved per second (1..${MAX_MOVE_RATE}; default ${MAX_MOVE_RATE})`, integer(1, MAX_MOVE_RATE))
    .action(async (queue: string, options: { to?: string; rate?: number }, command: Command) => {
      const { client, settings } = contextOf(command);
      const { taskHandle } = await client.queue(queue).redrive({ destination: options.to, maxPerSecond: options.rate });
      if (settings.json) printJson({ queue, taskHandle });
      else printLine(`started redrive of ${queue}: ${taskHandle}\nfollow it with: edgeq redrive list ${queue}`);
    });

  redrive
    .command("list <queue>")
    .description("recent redrives of <queue>, newest first, with their progress")
    .action(async (queue: string, _options, command: Command) => {
      const { client, settings } = contextOf(command);
      const tasks = await client.queue(queue).redriveTasks();
      if (settings.json) return printJson(tasks);
      if (tasks.length === 0) return printLine(`no redrives of ${queue}`);
      printTable(["HANDLE", "STATUS", "MOVED", "DESTINATION", "RATE", "STARTED", "FAILURE"], tasks.map((task) => [
        task.taskHandle, task.status, progress(task), task.destinationQueue ?? "(sources)", `${task.maxNumberOfMessagesPerSecond}/s`, formatTime(task.startedTimestamp), task.failureReason ?? "",
      ]));
    });

  redrive
    .command("cancel <queue> [handle]")
    .description("stop a running redrive (the running one of <queue> when no handle is given); moved messages stay moved")
    .action(async (queue: string, handle: string | undefined, _options, command: Command) => {
      const { client, settings } = contextOf(command);
      const taskHandle = handle ?? (await client.queue(queue).redriveTasks()).find((task) => task.status === "RUNNING")?.taskHandle;
      if (taskHandle === undefined) throw new Error(`no redrive of ${queue} is running`);
      const task = await client.queue(queue).cancelRedrive(taskHandle);
      if (settings.json) printJson(task);
      else printLine(`cancelled redrive ${task.taskHandle} of ${queue}: moved ${progress(task)}`);
    });

  return redrive;
}

function progress(task: RedriveTask): string {
  return `${task.approximateNumberOfMessagesMoved}/${task.approximateNumberOfMessagesToMove}`;
}
