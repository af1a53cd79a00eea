// A throwaway certificate authority for the TLS tests, made with openssl in a
// temp directory: a CA, and server certificates it signs for localhost and
// 127.0.0.1. Clients trust it the way a user would trust a private CA:
// NODE_EXTRA_CA_CERTS (Node, the SDK, the CLI), AWS_CA_BUNDLE (aws CLI,
// boto3), or an https.Agent's `ca` (AWS SDK v3's request handler).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCa {
  dir: string;
  caFile: string;
  ca: string;
}

export interface ServerCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makeTestCa(dir = mkdtempSync(join(tmpdir(), "edgeq-ca-"))): TestCa {
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=edgeq test CA"], dir);
  return { dir, caFile: join(dir, "ca.pem"), ca: readFileSync(join(dir, "ca.pem"), "utf8") };
}

/** A certificate for localhost and 127.0.0.1 signed by `ca`, written as `<name>.pem` and `<name>.key`. */
export function issueCert(ca: TestCa, name: string): ServerCert {
  writeFileSync(join(ca.dir, `${name}.ext`), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], ca.dir);
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`], ca.dir);
  const certFile = join(ca.dir, `${name}.pem`);
  const keyFile = join(ca.dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}
