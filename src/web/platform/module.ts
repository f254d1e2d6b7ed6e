// node:module for the browser bundle: there is no native addon in a browser, so the
// addon loaders (backend/native/index.ts, backend/mpi.ts) find none and report why.

export function createRequire(): (id: string) => never {
  return (id: string) => {
    throw new Error(`${id}: native addons do not load in a browser (the page uses the webgpu or reference backend)`);
  };
}

export default { createRequire };
