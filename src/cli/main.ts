// The `edgeq` binary: run the command tree and turn any failure into one line
// on stderr and a non-zero exit status (1: the request failed, 2: usage).
/// <reference types="node" />
import { CommanderError, type Command } from "commander";
import { EdgeQError, NetworkError, TimeoutError } from "../sdk/index.js";
import { UsageError } from "./config.js";
import { buildProgram } from "./program.js";

const HINTS: Record<string, string> = {
  Unauthorized: "check --secret or EDGEQ_SECRET",
  Forbidden: "this needs an admin key",
  QueueDoesNotExist: "create it with `edgeq queues create`",
};

/** OpenSSL's codes for a certificate Node does not trust (a private CA's, a self-signed one). */
const UNTRUSTED_CERTIFICATE = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_UNTRUSTED|ERR_TLS_CERT_ALTNAME_INVALID|CERT_HAS_EXPIRED/;

export function describeError(error: unknown): string {
  if (error instanceof NetworkError && UNTRUSTED_CERTIFICATE.test(error.message)) {
    return `${error.message}: the server's TLS certificate is not trusted here; for a private CA, set NODE_EXTRA_CA_CERTS to its PEM file (docs/self-hosting.md#https)`;
  }
  if (error instanceof NetworkError || error instanceof TimeoutError) return `${error.message}; is the server running? (check --endpoint or EDGEQ_ENDPOINT)`;
  if (error instanceof EdgeQError) {
    const hint = HINTS[error.code];
    const id = error.requestId ? `, request ${error.requestId}` : "";
    return `${error.code}: ${error.message}${hint ? ` (${hint}${id})` : id ? ` (${id.slice(2)})` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  const program = buildProgram();
  overrideExits(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    process.stderr.write(`edgeq: ${describeError(error).replace(/\s*\n\s*/g, " ")}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}

/** Commander settings reach only subcommands made with .command(); these are added. */
function overrideExits(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) overrideExits(sub);
}

await main();
