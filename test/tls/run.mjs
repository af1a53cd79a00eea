#!/usr/bin/env node
// `npm run test:tls`: the client e2e suites once more, with every server they
// start (test/helpers/server.ts) serving HTTPS under a certificate from a
// test CA made here, and every client trusting that CA the way a user would:
// NODE_EXTRA_CA_CERTS for Node (the fetch SDK, the edgeq CLI, AWS SDK v3),
// AWS_CA_BUNDLE for boto3 and the aws CLI. test/tls.e2e.test.ts (in npm
// test) covers TLS itself: reloads, refusals, the config file.
// Extra arguments replace the default list of suites.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SUITES = ["test/sdk.e2e.test.ts", "test/sdk-delivery.e2e.test.ts", "test/cli.e2e.test.ts", "test/sqs.e2e.test.ts", "test/sqs-clients.e2e.test.ts", "test/sqs-consumer.e2e.test.ts"];
const dir = mkdtempSync(join(tmpdir(), "edgeq-tls-suites-"));
const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=edgeq test CA");
writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");

const suites = process.argv.length > 2 ? process.argv.slice(2) : SUITES;
console.log(`[tls] test CA in ${dir}; running ${suites.join(" ")} over HTTPS`);
const result = spawnSync("npx", ["vitest", "run", ...suites], {
  stdio: "inherit",
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    EDGEQ_TEST_TLS_DIR: dir,
    NODE_EXTRA_CA_CERTS: join(dir, "ca.pem"),
    AWS_CA_BUNDLE: join(dir, "ca.pem"),
  },
});
rmSync(dir, { recursive: true, force: true });
process.exit(result.status ?? 1);
