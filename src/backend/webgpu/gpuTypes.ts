// The few WebGPU types this backend uses (the DOM lib of TypeScript has none and
// @webgpu/types is not a dependency): just the members called here.

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface GpuBuffer {
  destroy(): void;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
export interface GpuDevice {
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createShaderModule(d: { code: string }): any;
  createComputePipeline(d: any): any;
  createBindGroupLayout(d: any): any;
  createPipelineLayout(d: any): any;
  createBindGroup(d: any): any;
  createCommandEncoder(): any;
  queue: {
    writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void;
    submit(cmds: any[]): void;
    onSubmittedWorkDone(): Promise<void>;
  };
  pushErrorScope(filter: string): void;
  popErrorScope(): Promise<{ message: string } | null>;
  lost: Promise<{ message: string }>;
  limits: Record<string, number>;
  destroy?(): void;
}
export interface GpuAdapter {
  requestDevice(d?: any): Promise<GpuDevice>;
  features: Set<string>;
  limits: Record<string, number>;
  info?: { vendor: string; architecture: string; description: string; device: string };
}
export interface GpuNavigator {
  gpu?: { requestAdapter(o?: any): Promise<GpuAdapter | null> };
}

// GPUBufferUsage / GPUMapMode / GPUShaderStage flags (WebGPU spec values).
export const BufferUsage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
export const MAP_READ = 0x1;
export const SHADER_STAGE_COMPUTE = 0x4;
