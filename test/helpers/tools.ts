// Tests that drive a program npm cannot install (Debian's aws CLI and
// python3-boto3; PyPI is out of reach) run where it is installed. Elsewhere
// they are skipped with a one-line reason naming the Debian package, so a
// fresh `npm install && npm test` passes; in CI (CI=true), where .ci/run
// installs them, a missing tool fails the test instead of hiding behind a skip.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { expect } from "vitest";
import { DEV_KEY_ID, DEV_SECRET } from "./server.js";

const run = promisify(execFile);

export const IN_CI = process.env.CI === "true";

export interface Tool {
  /** What to run, first match wins; absolute paths (Debian's /usr/bin) are preferred over PATH. */
  candidates: string[];
  /** Arguments that succeed only when the tool works (e.g. `-c "import boto3"`). */
  probe: string[];
  /** The Debian package that provides it. */
  debianPackage: string;
}

/** The working command for `tool`; otherwise skips the test (locally) or fails it (CI). */
export async function requireTool(tool: Tool, skip: (note: string) => never, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  for (const candidate of tool.candidates) {
    if (candidate.startsWith("/") && !existsSync(candidate)) continue;
    try {
      await run(candidate, tool.probe, { env, timeout: 30_000 });
      return candidate;
    } catch {
      // try the next one
    }
  }
  const install = `apt-get install -y ${tool.debianPackage}`;
  if (IN_CI) throw new Error(`${tool.debianPackage} is not installed, and CI=true requires it: ${install} (.ci/run does this)`);
  const reason = `needs Debian's ${tool.debianPackage}: ${install}`;
  // The default reporter shows a skip's note only with --reporter=verbose; this line shows it in every run.
  process.stderr.write(`skipped "${expect.getState().currentTestName}": ${reason}\n`);
  return skip(reason);
}

/** Debian's python3 with boto3, and Debian's aws CLI: the SQS clients the e2e tests drive. */
export const BOTO3: Tool = { candidates: ["/usr/bin/python3", "python3"], probe: ["-c", "import boto3"], debianPackage: "python3-boto3" };
export const AWS_CLI: Tool = { candidates: ["/usr/bin/aws", "aws"], probe: ["--version"], debianPackage: "awscli" };

/** The environment for boto3 and the aws CLI: development credentials, and none of the machine's AWS configuration. */
export function awsEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: DEV_KEY_ID,
    AWS_SECRET_ACCESS_KEY: DEV_SECRET,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent/edgeq-test-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/edgeq-test-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  };
}
