#!/usr/bin/env node
// `npm start`: edgeq on this machine, state on disk, development credentials on.
// Flags after `--` pass through to `wrangler dev`; --port and --persist-to
// replace the defaults (8787, .wrangler/state) instead of being given twice.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const has = (flag) => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
const defaults = [
  ...(has("--port") ? [] : ["--port", "8787"]),
  ...(has("--ip") ? [] : ["--ip", "127.0.0.1"]),
  ...(has("--persist-to") ? [] : ["--persist-to", ".wrangler/state"]),
];
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const child = spawn(process.execPath, [wrangler, "dev", "--var", "EDGEQ_DEV_MODE:true", "--show-interactive-dev-session=false", ...defaults, ...args], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
