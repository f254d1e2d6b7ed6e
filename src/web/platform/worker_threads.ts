// node:worker_threads for the browser bundle: the library only asks whether it runs on
// the main thread (fineTune hooks MPI's finalize there; there is no MPI in a browser).
// A page's training worker is a Web Worker, not a Node worker thread: the library code
// in it is the "main thread" of its own little world.

export const isMainThread = true;

export default { isMainThread };
