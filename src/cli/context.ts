// What every command needs: the settings resolved from its flags and the
// environment, and an SDK client built on them. The CLI retries less than
// the SDK's default so a wrong endpoint fails within a couple of seconds.
/// <reference types="node" />
import { InvalidArgumentError, type Command } from "commander";
import { EdgeQ } from "../sdk/index.js";
import { resolveSettings, type GlobalFlags, type Settings } from "./config.js";

export interface CommandContext {
  settings: Settings;
  client: EdgeQ;
}

export function contextOf(command: Command): CommandContext {
  const settings = resolveSettings(command.optsWithGlobals<GlobalFlags>());
  const client = new EdgeQ({ endpoint: settings.endpoint, secret: settings.secret, timeoutMs: settings.timeoutMs, retries: 2, baseDelayMs: 200 });
  return { settings, client };
}

/** A commander argument parser for whole numbers in [min, max]. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || number < min || number > max) throw new InvalidArgumentError(`must be an integer between ${min} and ${max}, got "${value}"`);
    return number;
  };
}
