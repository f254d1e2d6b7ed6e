/** llama2.c (and Meta's original Llama code) rotate adjacent pairs (2i, 2i+1) of each head
 * with RoPE; Hugging Face Llama rotates halves (i, i + head_size/2). Permuting the rows of
 * W_q and W_k within each head turns one into the other, exactly as transformers'
 * convert_llama_weights_to_hf.py does:
 *   w.view(n_heads, head_size/2, 2, cols).transpose(1, 2).reshape(rows, cols)
 * Row (h, i, c) (pair i, component c) moves to row (h, c, i). Attention scores are
 * unchanged because q and k get the same permutation. */

/** Adjacent-pairs rows -> halves rows. `w` is [nHeads * headSize, cols], row-major. */
export function permuteRopeRowsToHalves(w: Float32Array, nHeads: number, cols: number): Float32Array {
  return permuteRows(
    w,
    nHeads,
    cols,
    (i, c, half) => c * half + i,
    (i, c) => 2 * i + c,
  );
}

/** The same permutation of whole rows of bytes: a quantized weight whose blocks never
 * cross a row (`rowBytes` bytes a row, GGUF Q8_0 / Q4_0 kept as codes, issue 17). */
export function permuteRopeByteRowsToHalves(w: Uint8Array, nHeads: number, rowBytes: number): Uint8Array {
  return permuteRows(
    w,
    nHeads,
    rowBytes,
    (i, c, half) => c * half + i,
    (i, c) => 2 * i + c,
  );
}

/** The inverse: halves rows -> adjacent-pairs rows (for exporting back to llama2.c). */
export function permuteRopeRowsToPairs(w: Float32Array, nHeads: number, cols: number): Float32Array {
  return permuteRows(
    w,
    nHeads,
    cols,
    (i, c) => 2 * i + c,
    (i, c, half) => c * half + i,
  );
}

function permuteRows<T extends Float32Array | Uint8Array>(
  w: T,
  nHeads: number,
  cols: number,
  dst: (i: number, c: number, half: number) => number,
  src: (i: number, c: number, half: number) => number,
): T {
  const headSize = w.length / cols / nHeads;
  const half = headSize / 2;
  const out = (w instanceof Float32Array ? new Float32Array(w.length) : new Uint8Array(w.length)) as T;
  for (let h = 0; h < nHeads; h++) {
    const base = h * headSize;
    for (let i = 0; i < half; i++) {
      for (let c = 0; c < 2; c++) {
        const from = (base + src(i, c, half)) * cols;
        out.set(w.subarray(from, from + cols) as ArrayLike<number>, (base + dst(i, c, half)) * cols);
      }
    }
  }
  return out;
}
