// `edgeq keys ...` (admin: create, list, revoke access keys) and
// `edgeq tokens create` (a short-lived browser token scoped to a queue).
/// <reference types="node" />
import { Command } from "commander";
import type { Action, Grant } from "../../sdk/index.js";
import { UsageError } from "../config.js";
import { contextOf, integer } from "../context.js";
import { formatTime, printFields, printJson, printLine, printTable } from "../output.js";

const ACTIONS: readonly Action[] = ["send", "receive", "delete", "manage", "peek", "metrics"];

export function keysCommand(): Command {
  const keys = new Command("keys").description("manage access keys (needs an admin key)");

  keys
    .command("create")
    .description("create an access key; its secret is printed once")
    .option("--admin", "an admin key (everything, including deleting queues and managing keys)")
    .option("-g, --grant <queue=actions>", `allow actions on a queue or prefix*, e.g. "orders-*=send,receive" (actions: ${ACTIONS.join(", ")}); repeat for more`, collectGrant)
    .option("--description <text>", "what the key is for")
    .action(async (options: { admin?: boolean; grant?: Grant[]; description?: string }, command: Command) => {
      const { client, settings } = contextOf(command);
      if (!options.admin && !options.grant?.length) throw new UsageError("give --admin or at least one --grant queue=actions");
      const key = await client.keys.create({ admin: options.admin ?? false, grants: options.grant ?? [], description: options.description });
      if (settings.json) return printJson(key);
      printFields({ id: key.id, secret: key.secret, admin: String(key.admin), grants: describeGrants(key.grants), description: key.description });
      process.stderr.write("Store the secret now: it is not shown again.\n");
    });

  keys
    .command("list")
    .description("list access keys (never their secrets)")
    .action(async (_options, command: Command) => {
      const { client, settings } = contextOf(command);
      const all = await client.keys.list();
      if (settings.json) return printJson(all);
      if (all.length === 0) return printLine("no access keys (the deployment's admin key is not listed)");
      printTable(["ID", "ADMIN", "GRANTS", "CREATED", "DESCRIPTION"], all.map((key) => [key.id, key.admin ? "yes" : "no", describeGrants(key.grants), formatTime(key.createdAt), key.description]));
    });

  keys
    .command("revoke <id>")
    .description("revoke an access key; requests signed with it fail from then on")
    .action(async (id: string, _options, command: Command) => {
      const { client, settings } = contextOf(command);
      await client.keys.revoke(id);
      if (settings.json) printJson({ id, revoked: true });
      else printLine(`revoked ${id}`);
    });

  return keys;
}

export function tokensCommand(): Command {
  const tokens = new Command("tokens").description("mint short-lived tokens for browsers");
  tokens
    .command("create <queue>")
    .description("mint a token for one queue (or prefix*) and some actions, within your key's own rights")
    .requiredOption("--actions <list>", `comma-separated: ${ACTIONS.join(", ")}`, parseActions)
    .option("--expires-in <seconds>", "lifetime (1..3600, default 900)", integer(1, 3600))
    .action(async (queue: string, options: { actions: Action[]; expiresIn?: number }, command: Command) => {
      const { client, settings } = contextOf(command);
      const minted = await client.createToken({ queue, actions: options.actions, expiresIn: options.expiresIn });
      if (settings.json) printJson(minted);
      else printFields({ token: minted.token, expiresAt: formatTime(minted.expiresAt) });
    });
  return tokens;
}

function describeGrants(grants: Grant[]): string {
  return grants.map((grant) => `${grant.queue}=${grant.actions.join(",")}`).join(" ") || "-";
}

function parseActions(list: string): Action[] {
  const actions = list.split(",").map((action) => action.trim()).filter(Boolean);
  const unknown = actions.filter((action) => !ACTIONS.includes(action as Action));
  if (actions.length === 0 || unknown.length > 0) throw new UsageError(`actions must be a comma-separated list of ${ACTIONS.join(", ")}, got "${list}"`);
  return actions as Action[];
}

function collectGrant(value: string, previous: Grant[] = []): Grant[] {
  const at = value.lastIndexOf("=");
  if (at <= 0) throw new UsageError(`--grant must look like queue=actions (e.g. "orders=send,receive"), got "${value}"`);
  return [...previous, { queue: value.slice(0, at), actions: parseActions(value.slice(at + 1)) }];
}
