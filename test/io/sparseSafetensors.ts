import * as fs from 'node:fs';

/** A header-only file whose data region is a hole of the declared size. */
export function sparseSafetensors(file: string, entries: [string, 'F32' | 'BF16', number[]][], headerText?: string): void {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, dtype, shape] of entries) {
    const bytes = shape.reduce((a, b) => a * b, dtype === 'F32' ? 4 : 2);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = headerText ?? JSON.stringify(header);
  text += ' '.repeat((8 - (text.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text)]));
  fs.truncateSync(file, 8 + Buffer.byteLength(text) + offset);
}
