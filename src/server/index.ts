// The self-hosted server's public surface: `serve()` for the CLI and for
// programs that embed edgeq, `runServer()` for a foreground process with
// signal handling, and the flags both `npm start` and `edgeq serve` take.
export { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, serve, type EdgeqServer, type ServeOptions } from "./serve.js";
export { ServeConfigError } from "./config-file.js";
export { DataDirLockedError } from "./data-lock.js";
export { serveOptionsFromFlags, withServerFlags, type ServerFlags } from "./flags.js";
export { runServer } from "./run.js";
export { rotateOffline, type RotationReport } from "./rotate.js";
export { backupDataDir, BackupError, describeObjects, type BackupManifest } from "./backup.js";
export { restoreDataDir } from "./restore.js";
