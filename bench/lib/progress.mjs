// Progress lines on stderr, so stdout carries only the report: one line per
// phase, redrawn in place on a terminal.
export function makeProgress() {
  const tty = process.stderr.isTTY;
  let last = "";
  return {
    note: (text) => process.stderr.write(`[bench] ${text}\n`),
    bar: (label) => (messages, seconds) => {
      last = `[bench] ${label}: ${messages} msgs, ${seconds.toFixed(1)} s`;
      if (tty) process.stderr.write(`\r${last}`);
    },
    done: () => {
      if (last) process.stderr.write(tty ? "\n" : `${last}\n`);
      last = "";
    },
  };
}
