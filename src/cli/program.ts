// The `edgeq` command tree. Global flags (endpoint, secret, config, --json,
// timeout) are defined once here and read by every command through
// optsWithGlobals, so they may be given before or after the command name.
import { Command } from "commander";
import { EDGEQ_VERSION } from "../shared/version.js";
import { DEFAULT_ENDPOINT } from "./config.js";
import { integer } from "./context.js";
import { adminCommand } from "./commands/admin.js";
import { keysCommand, tokensCommand } from "./commands/credentials.js";
import { receiveCommand, sendCommand, tailCommand } from "./commands/messages.js";
import { deleteCommand, releaseCommand } from "./commands/receipts.js";
import { peekCommand } from "./commands/monitoring.js";
import { queuesCommand } from "./commands/queues.js";
import { redriveCommand } from "./commands/redrive.js";
import { schedulesCommand } from "./commands/schedules.js";
import { serveCommand } from "./commands/serve.js";
import { webhookCommand } from "./commands/webhooks.js";

export const VERSION = EDGEQ_VERSION;

export function buildProgram(): Command {
  const program = new Command("edgeq")
    .description("Command-line client for edgeq, a message queue on Cloudflare Workers and Durable Objects.")
    .version(VERSION)
    .option("--endpoint <url>", `server URL (env EDGEQ_ENDPOINT; default ${DEFAULT_ENDPOINT})`)
    .option("--secret <secret>", "key secret, sent as a bearer token (env EDGEQ_SECRET; default on loopback: the dev secret)")
    .option("--config <file>", "JSON file with endpoint and secret (env EDGEQ_CONFIG; default ~/.config/edgeq/config.json); for `serve`, an edgeq.toml")
    .option("--json", "print JSON for scripts instead of tables")
    .option("--timeout <seconds>", "per-request timeout", integer(1, 3600))
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", `
Examples:
  edgeq serve --port 8787 --data-dir ./edgeq-data
  edgeq queues create jobs --visibility-timeout 60
  edgeq queues create jobs-dlq && edgeq queues update jobs --dlq jobs-dlq --max-receives 5
  edgeq queues create orders.fifo --fifo --content-dedup
  edgeq send jobs "resize image 1"
  edgeq send jobs --file messages.ndjson
  edgeq send orders.fifo '{"order":1}' --group customer-7
  edgeq send jobs "wake up" --deliver-at 2030-01-31T09:00:00Z
  edgeq receive jobs --max 10 --wait 5 --delete
  edgeq receive jobs --json | jq -r '.[].receiptHandle' | edgeq delete jobs -
  edgeq release jobs <receipt-handle> --after 30
  edgeq tail jobs --concurrency 4
  edgeq queues stats jobs --json
  edgeq webhook set jobs https://example.com/hook --batch-size 5
  edgeq redrive start jobs-dlq && edgeq redrive list jobs-dlq
  edgeq keys create --grant "jobs=send,receive,delete" --description worker
  edgeq tokens create jobs --actions send --expires-in 600
  EDGEQ_MASTER_KEY=... edgeq admin rotate-master-key --data-dir ./edgeq-data   (server stopped)

Exit status: 0 on success; 1 when a request failed; 2 for a usage error.`);
  program.addCommand(queuesCommand());
  program.addCommand(sendCommand());
  program.addCommand(receiveCommand());
  program.addCommand(deleteCommand());
  program.addCommand(releaseCommand());
  program.addCommand(tailCommand());
  program.addCommand(peekCommand());
  program.addCommand(redriveCommand());
  program.addCommand(schedulesCommand());
  program.addCommand(webhookCommand());
  program.addCommand(keysCommand());
  program.addCommand(tokensCommand());
  program.addCommand(adminCommand());
  program.addCommand(serveCommand());
  return program;
}
