// Conformance of the native backend (C++ on oneDNN) against the reference: the
// cases are in conformanceSuite.ts, shared with the webgpu run in Chromium
// (test/browser/webgpuConformance.test.ts). Skips (with the reason) when the addon is not built.

import { loadNativeBackend, nativeLoadError } from '../../src/backend/native/index.js';
import { conformanceSuite } from './conformanceSuite.js';

const native = loadNativeBackend();
conformanceSuite({
  title: 'native backend conformance',
  subject: native,
  skip: native ? false : `native addon not built (${nativeLoadError()}); run \`npm run build:native\``,
  checksArguments: true,
  exactDropoutValues: true,
});
