// The GPU side of one call: storage buffers for the call's arrays, cached compute
// pipelines, dispatches recorded into one command encoder, and the readback.
// Every kernel reads its scalars from binding 0 (`P`, u32 words; `pf(i)` reads an
// f32, `pi(i)` an i32) and its arrays from bindings 1.. (read_write storage, so
// one explicit layout per binding count serves every kernel).

import { BufferUsage, MAP_READ, SHADER_STAGE_COMPUTE, type GpuBuffer, type GpuDevice } from './gpuTypes.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Scalars of a dispatch, as u32 words. */
export class Params {
  readonly words: number[] = [];
  private static readonly f = new Float32Array(1);
  private static readonly fu = new Uint32Array(Params.f.buffer);
  u(v: number): this {
    this.words.push(v >>> 0);
    return this;
  }
  i(v: number): this {
    this.words.push((v | 0) >>> 0);
    return this;
  }
  /** An f32 (a number rounded to f32; bits kept, so -Infinity passes too). */
  f(v: number): this {
    Params.f[0] = v;
    this.words.push(Params.fu[0]!);
    return this;
  }
  /** `count` u32 words from `values`, padded with `pad`. */
  list(values: readonly number[], count: number, pad: number): this {
    for (let d = 0; d < count; d++) this.u(d < values.length ? values[d]! : pad);
    return this;
  }
}

const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> P: array<u32>;
fn pu(i: u32) -> u32 { return P[i]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i]); }
fn pi(i: u32) -> i32 { return bitcast<i32>(P[i]); }
`;

/** A kernel: WGSL `main` plus the arrays it binds, e.g. ['x', 'out', 'ids:i32']. */
export interface Kernel {
  code: string;
  arrays: readonly string[];
  /** WGSL extensions the module enables, e.g. ['f16'] (needs the device feature shader-f16) */
  enable?: readonly string[];
}

/** Threads of a 1-D kernel: workgroups of 64, spread over y past 65535 groups.
 * The kernel's index is `g.x + g.y * nw.x * 64u` (FLAT_INDEX). */
export const FLAT_INDEX = 'g.x + g.y * nw.x * 64u';
export const FLAT_ENTRY =
  '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>)';

export function flatGroups(threads: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / 64));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

export class GpuCall {
  private readonly encoder: any;
  private readonly owned: GpuBuffer[] = [];

  constructor(private readonly gpu: GpuRunner) {
    this.encoder = gpu.device.createCommandEncoder();
  }

  /** A zero-filled scratch buffer of `elements` 4-byte elements, freed after the call. */
  scratch(elements: number): GpuBuffer {
    const b = this.gpu.device.createBuffer({
      size: paddedBytes(elements),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
    this.owned.push(b);
    return b;
  }

  /** Records one dispatch of `kernel` over `arrays` (in the order of kernel.arrays). */
  dispatch(kernel: Kernel, params: Params, arrays: readonly GpuBuffer[], groups: [number, number, number]): void {
    if (arrays.length !== kernel.arrays.length) throw new Error(`kernel binds ${kernel.arrays.length} arrays, got ${arrays.length}`);
    const pipeline = this.gpu.pipeline(kernel);
    const words = params.words.length ? params.words : [0];
    const pbuf = this.gpu.device.createBuffer({ size: paddedBytes(words.length), usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
    this.owned.push(pbuf);
    this.gpu.device.queue.writeBuffer(pbuf, 0, Uint32Array.from(words));
    const bindGroup = this.gpu.device.createBindGroup({
      layout: this.gpu.layout(arrays.length + 1),
      entries: [pbuf, ...arrays].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    pass.end();
  }

  /** Submits, then copies each (buffer, elements) back; returns their bytes. */
  async finish(reads: readonly { buffer: GpuBuffer; elements: number }[]): Promise<ArrayBuffer[]> {
    const staging = reads.map((r) => {
      const s = this.gpu.device.createBuffer({ size: paddedBytes(r.elements), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      this.encoder.copyBufferToBuffer(r.buffer, 0, s, 0, paddedBytes(r.elements));
      this.owned.push(s);
      return s;
    });
    this.gpu.device.queue.submit([this.encoder.finish()]);
    await Promise.all(staging.map((s) => s.mapAsync(MAP_READ)));
    const out = staging.map((s) => s.getMappedRange().slice(0));
    for (const b of this.owned) b.destroy();
    return out;
  }
}

export function paddedBytes(elements: number): number {
  return Math.max(16, Math.ceil((elements * 4) / 16) * 16);
}

export class GpuRunner {
  private readonly pipelines = new Map<string, any>();
  private readonly layouts = new Map<number, { group: any; pipeline: any }>();

  constructor(readonly device: GpuDevice) {}

  layout(bindings: number): any {
    return this.layoutPair(bindings).group;
  }

  private layoutPair(bindings: number): { group: any; pipeline: any } {
    let l = this.layouts.get(bindings);
    if (!l) {
      const group = this.device.createBindGroupLayout({
        entries: Array.from({ length: bindings }, (_, binding) => ({
          binding,
          visibility: SHADER_STAGE_COMPUTE,
          buffer: { type: binding === 0 ? 'read-only-storage' : 'storage' },
        })),
      });
      l = { group, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.layouts.set(bindings, l);
    }
    return l;
  }

  pipeline(kernel: Kernel): any {
    const decls = kernel.arrays
      .map((spec, i) => {
        const [name, type] = spec.split(':');
        return `@group(0) @binding(${i + 1}) var<storage, read_write> ${name}: array<${type ?? 'f32'}>;`;
      })
      .join('\n');
    const enables = (kernel.enable ?? []).map((e) => `enable ${e};\n`).join('');
    const code = `${enables}${PRELUDE}\n${decls}\n${kernel.code}`;
    let p = this.pipelines.get(code);
    if (!p) {
      p = this.device.createComputePipeline({
        layout: this.layoutPair(kernel.arrays.length + 1).pipeline,
        compute: { module: this.device.createShaderModule({ code }), entryPoint: 'main' },
      });
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** A storage buffer holding `data` (4-byte elements). */
  upload(data: Uint32Array | null, elements: number): GpuBuffer {
    const b = this.device.createBuffer({
      size: paddedBytes(elements),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
    if (data && elements > 0) this.device.queue.writeBuffer(b, 0, data);
    return b;
  }
}
