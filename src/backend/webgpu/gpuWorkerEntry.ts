// Entry of the GPU worker bundle (scripts/buildWeb.mjs): new Worker(url of this, bundled).
import { startGpuWorker } from './gpuWorker.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
startGpuWorker(self as any);
