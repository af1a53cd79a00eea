// The self-hosted server's public surface: `serve()` for the CLI and for
// programs that embed edgeq, `runServer()` for a foreground process with
// signal handling (scripts/start.mjs, `edgeq serve`).
export { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, serve, type EdgeqServer, type ServeOptions } from "./serve.js";
export { DataDirLockedError } from "./data-lock.js";
export { runServer } from "./run.js";
