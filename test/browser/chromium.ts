// Headless Chromium with WebGPU on SwiftShader (Debian's chromium, driven by
// playwright-core): the flags that give an adapter on a machine without a GPU.

import { existsSync } from 'node:fs';

export const CHROMIUM = process.env['COLA_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu', // WebGPU on Linux is behind this flag
  '--enable-unsafe-swiftshader', // allow the CPU (SwiftShader) adapter
  '--no-sandbox', // root in containers and CI
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or false. */
export async function browserSkipReason(): Promise<string | false> {
  if (!existsSync(CHROMIUM)) return `chromium not found at ${CHROMIUM} (apt-get install chromium, or set COLA_CHROMIUM)`;
  try {
    await import('playwright-core');
    await import('esbuild');
  } catch {
    return 'playwright-core or esbuild is not installed (npm install: both are devDependencies)';
  }
  return false;
}
