// `edgeq schedules ...`: recurring schedules of a queue (create or replace, list, delete).
import { Command } from "commander";
import { MAX_PRIORITY } from "../../shared/limits.js";
import { contextOf, integer } from "../context.js";
import { formatTime, printJson, printLine, printTable } from "../output.js";
import { collect, parseAttributes } from "./messages.js";

interface CreateFlags {
  tz?: string;
  group?: string;
  priority?: number;
  attribute?: string[];
}

export function schedulesCommand(): Command {
  const schedules = new Command("schedules").description("recurring schedules: a message enqueued on each tick of a cron expression");

  schedules
    .command("create <queue> <id> <cron> <body>")
    .description("create a schedule, or replace the one with this id (cron: five fields, or six with seconds first; quote it)")
    .option("--tz <zone>", "IANA time zone the expression is read in (default UTC)")
    .option("-g, --group <id>", "message group (required on FIFO queues)")
    .option("-p, --priority <n>", `standard queues: 0..${MAX_PRIORITY}`, integer(0, MAX_PRIORITY))
    .option("-a, --attribute <name=value>", "a String attribute; repeat for more", collect)
    .action(async (queueName: string, id: string, cron: string, body: string, flags: CreateFlags, command: Command) => {
      const { client, settings } = contextOf(command);
      const schedule = await client.queue(queueName).schedule({
        id, cron, body, timezone: flags.tz, messageGroupId: flags.group, priority: flags.priority, attributes: parseAttributes(flags.attribute ?? []),
      });
      if (settings.json) printJson(schedule);
      else printLine(`schedule ${schedule.id} on ${queueName}: next run ${schedule.nextRunAt === null ? "never" : formatTime(schedule.nextRunAt)}`);
    });

  schedules.command("list <queue>").description("a queue's schedules with their next runs").action(async (queueName: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    const all = await client.queue(queueName).schedules();
    if (settings.json) return printJson(all);
    if (all.length === 0) return printLine(`no schedules on ${queueName}`);
    printTable(["ID", "CRON", "TIME ZONE", "NEXT RUN", "LAST RUN"], all.map((s) => [
      s.id, s.cron, s.timezone, s.nextRunAt === null ? "never" : formatTime(s.nextRunAt), s.lastRunAt === null ? "-" : formatTime(s.lastRunAt),
    ]));
  });

  schedules.command("delete <queue> <id>").description("remove a schedule").action(async (queueName: string, id: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    await client.queue(queueName).deleteSchedule(id);
    if (settings.json) printJson({ queue: queueName, schedule: id, deleted: true });
    else printLine(`deleted schedule ${id} from ${queueName}`);
  });

  return schedules;
}
