// HTTPS for the self-hosted server. workerd can serve TLS itself, but not on
// the socket the server uses: Miniflare builds its direct sockets as plain
// HTTP (only its entry socket takes httpsKey/httpsCert, and that socket costs
// a second Worker invocation per request), and workerd reads certificates
// once, so a new one would mean restarting the runtime and cutting every open
// connection. So this process terminates TLS (Node's OpenSSL) on the public
// address and pipes each connection's bytes to workerd's socket on loopback.
// A new certificate is swapped in with setSecureContext: connections made
// before keep theirs until they close, new handshakes get the new one, and
// nothing is dropped. The files are watched (stat polling, which survives the
// rename a certificate renewer does) and re-read on SIGHUP; a pair that does
// not load (a key not yet matching its new certificate) leaves the old one in
// force and is tried again on the next change.
/// <reference types="node" />
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { connect, type Socket } from "node:net";
import { createSecureContext, createServer, type Server, type TLSSocket } from "node:tls";
import { ServeConfigError } from "./config-file.js";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** How often the certificate files are checked for a change. */
const WATCH_INTERVAL_MS = 1_000;

export class TlsFront {
  readonly #server: Server;
  readonly #files: TlsFiles;
  readonly #connections = new Set<Socket>();
  readonly #onReload: (outcome: string) => void;
  #loaded: { cert: Buffer; key: Buffer };
  #pending: NodeJS.Timeout | undefined;

  private constructor(server: Server, files: TlsFiles, loaded: { cert: Buffer; key: Buffer }, onReload: (outcome: string) => void) {
    this.#server = server;
    this.#files = files;
    this.#loaded = loaded;
    this.#onReload = onReload;
  }

  /** Listens on host:port (0: any free port) and forwards to workerd at 127.0.0.1:upstreamPort. */
  static async listen(files: TlsFiles, host: string, port: number, upstreamPort: number, onReload: (outcome: string) => void): Promise<TlsFront> {
    const loaded = readPair(files);
    const problem = invalid(loaded);
    if (problem) throw new ServeConfigError(`--tls-cert ${files.certFile} and --tls-key ${files.keyFile} do not load: ${problem}`);
    // Only HTTP/1.1: that is what workerd's socket behind this speaks.
    const server = createServer({ ...loaded, ALPNProtocols: ["http/1.1"] });
    const front = new TlsFront(server, files, loaded, onReload);
    server.on("secureConnection", (socket) => front.#forward(socket, upstreamPort));
    server.on("tlsClientError", () => {}); // a failed handshake concerns that client only
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    for (const file of [files.certFile, files.keyFile]) watchFile(file, { interval: WATCH_INTERVAL_MS }, () => front.#soon());
    return front;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Re-reads the files; keeps the certificate in force when the new pair does not load. */
  reload(): { ok: boolean; message: string } {
    let next: { cert: Buffer; key: Buffer };
    try {
      next = readPair(this.#files);
    } catch (error) {
      return { ok: false, message: `kept the TLS certificate in force: ${(error as Error).message}` };
    }
    if (next.cert.equals(this.#loaded.cert) && next.key.equals(this.#loaded.key)) return { ok: true, message: "the TLS certificate is unchanged" };
    const problem = invalid(next);
    if (problem) return { ok: false, message: `kept the TLS certificate in force: ${this.#files.certFile} and ${this.#files.keyFile} do not load (${problem})` };
    this.#server.setSecureContext(next);
    this.#loaded = next;
    return { ok: true, message: `loaded a new TLS certificate from ${this.#files.certFile}; open connections keep the previous one until they close` };
  }

  /** Stops accepting connections; those open stay until `destroy` (after workerd has drained). */
  stopAccepting(): void {
    for (const file of [this.#files.certFile, this.#files.keyFile]) unwatchFile(file);
    clearTimeout(this.#pending);
    this.#server.close();
  }

  destroy(): void {
    this.stopAccepting();
    for (const socket of this.#connections) socket.destroy();
  }

  /** Both files usually change within moments of each other: read them once things settle. */
  #soon(): void {
    clearTimeout(this.#pending);
    this.#pending = setTimeout(() => this.#onReload(this.reload().message), 200);
  }

  #forward(socket: TLSSocket, upstreamPort: number): void {
    const upstream = connect(upstreamPort, "127.0.0.1");
    for (const end of [socket, upstream]) {
      this.#connections.add(end);
      end.once("close", () => this.#connections.delete(end));
      end.on("error", () => {
        socket.destroy();
        upstream.destroy();
      });
    }
    socket.pipe(upstream).pipe(socket);
  }
}

function readPair(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ServeConfigError(`cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  return { cert: read("--tls-cert", files.certFile), key: read("--tls-key", files.keyFile) };
}

function invalid(pair: { cert: Buffer; key: Buffer }): string | null {
  try {
    createSecureContext(pair);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
