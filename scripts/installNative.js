// npm's install step (issue 16): the native addon from a prebuilt binary shipped in
// the package (prebuilds/<platform>-<arch>/, made by `npm run build:prebuilt`: not named
// "prebuild", which npm runs before every `npm run build`, rebuilding the addons) when one
// loads here, else built from source with node-gyp (needs g++, make and oneDNN's
// headers: Debian `libdnnl-dev`). When neither works the install still succeeds:
// cola then runs on its reference backend and says so at start.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const bin = createRequire(import.meta.url).resolve('node-gyp-build/bin.js');
const run = spawnSync(process.execPath, [bin], { stdio: 'inherit' });
if (run.status !== 0) {
  console.warn(
    'cola: the native addon was not built (no prebuilt binary loads on this platform, and building it needs\n' +
      '  g++, make and oneDNN: apt-get install libdnnl-dev, then npm run build:native). cola still works on\n' +
      '  its reference backend (plain TypeScript, much slower).',
  );
}
