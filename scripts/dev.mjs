#!/usr/bin/env node
// `npm run dev`: `wrangler dev` with reload, in development mode (the public
// credentials `local` / `local-dev-secret`). Those are safe only if no one but
// this machine can connect: the Worker cannot see the peer's address (a Host
// header is the client's to choose), so the listener decides. This refuses
// any --ip beyond loopback before wrangler starts, as `npm start` refuses
// --host (src/server/credentials.ts isLoopbackHost; the two agree by test).
// Other arguments go to wrangler unchanged.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export function isLoopbackHost(host) {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** The --ip values among wrangler's arguments (`--ip X` and `--ip=X`); a bare --ip at the end counts as "". */
export function listenAddresses(args) {
  const found = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--ip") found.push(args[++i] ?? "");
    else if (args[i].startsWith("--ip=")) found.push(args[i].slice("--ip=".length));
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const addresses = listenAddresses(args);
  const outside = addresses.find((address) => !isLoopbackHost(address));
  if (outside !== undefined) {
    console.error(`npm run dev: refusing to listen on ${outside || "(empty)"} with the development credentials, which are public (key id "local", secret "local-dev-secret"); ` +
      "use a loopback address, or run `npm start -- --host <address>` with EDGEQ_ADMIN_KEY_ID, EDGEQ_ADMIN_SECRET and EDGEQ_MASTER_KEY set");
    process.exit(2);
  }
  const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
  const defaults = [...(addresses.length === 0 ? ["--ip", "127.0.0.1"] : []), ...(args.some((arg) => arg === "--persist-to" || arg.startsWith("--persist-to=")) ? [] : ["--persist-to", ".wrangler/state"])];
  const child = spawn(process.execPath, [wrangler, "dev", "--var", "EDGEQ_DEV_MODE:true", "--var", "EDGEQ_CLIENT_ADDRESS:none", ...defaults, ...args], {
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
