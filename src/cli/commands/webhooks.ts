// `edgeq webhook ...`: a queue's push webhook (set, show, delete, rotate the
// signing secret). The secret is printed once, by set and rotate.
import { Command } from "commander";
import { WEBHOOK_BATCH_SIZE, WEBHOOK_MAX_CONCURRENCY, WEBHOOK_TIMEOUT_SECONDS } from "../../shared/limits.js";
import { contextOf, integer } from "../context.js";
import { printFields, printJson, printLine } from "../output.js";

interface SetFlags {
  batchSize?: number;
  maxConcurrency?: number;
  timeoutSeconds?: number;
}

export function webhookCommand(): Command {
  const webhook = new Command("webhook").description("push a queue's messages to an HTTP endpoint in signed POSTs (needs manage on the queue)");

  webhook
    .command("set <queue> <url>")
    .description("create or replace the queue's webhook; prints its signing secret, shown this once")
    .option("--batch-size <n>", `messages per POST (${WEBHOOK_BATCH_SIZE.join("..")}, default 10)`, integer(...WEBHOOK_BATCH_SIZE))
    .option("--max-concurrency <n>", `POSTs in flight per partition (${WEBHOOK_MAX_CONCURRENCY.join("..")}, default 2)`, integer(...WEBHOOK_MAX_CONCURRENCY))
    .option("--timeout-seconds <seconds>", `seconds a POST may take (${WEBHOOK_TIMEOUT_SECONDS.join("..")}, default 10)`, integer(...WEBHOOK_TIMEOUT_SECONDS))
    .action(async (queueName: string, url: string, flags: SetFlags, command: Command) => {
      const { client, settings } = contextOf(command);
      const set = await client.queue(queueName).setWebhook({ url, batchSize: flags.batchSize, maxConcurrency: flags.maxConcurrency, timeoutSeconds: flags.timeoutSeconds });
      if (settings.json) return printJson(set);
      printFields({ queue: queueName, ...set });
      printLine("keep the secret: it is not shown again (edgeq webhook rotate makes a new one)");
    });

  webhook.command("show <queue>").description("the queue's webhook, without its secret").action(async (queueName: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    const shown = await client.queue(queueName).webhook();
    if (settings.json) return printJson(shown);
    printFields({ queue: queueName, ...shown });
  });

  webhook.command("delete <queue>").description("stop pushing the queue's messages").action(async (queueName: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    await client.queue(queueName).deleteWebhook();
    if (settings.json) printJson({ queue: queueName, deleted: true });
    else printLine(`deleted the webhook of ${queueName}`);
  });

  webhook.command("rotate <queue>").description("a new signing secret; the old one stops signing at once").action(async (queueName: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    const secret = await client.queue(queueName).rotateWebhookSecret();
    if (settings.json) return printJson({ queue: queueName, secret });
    printFields({ queue: queueName, secret });
  });

  return webhook;
}
