#!/usr/bin/env node
// OpenMP reads its thread count and wait policy once, when the native addon loads:
// set them first (src/backend/runtime.ts prepareProcessEnv: --threads, else the
// cores this process may use; passive waiting). A bad --threads is left for the
// option parser to report.
import('../dist/src/backend/runtime.js')
  .then((r) => {
    try {
      r.prepareProcessEnv(process.argv.slice(2));
    } catch {
      /* reported by the option parser */
    }
    return import('../dist/src/cli/main.js');
  })
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => process.exit(code ?? 0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
