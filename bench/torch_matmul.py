"""PyTorch matmul throughput at the shapes of src/bench/matmul.ts (`cola bench matmul`), for comparison in
the same run (the machine is noisy; compare ratios measured together).

    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_matmul.py [--json] [--repeats N]

Without OPENBLAS_CORETYPE=SkylakeX, Debian's OpenBLAS picks SSE3 kernels on this
CPU and PyTorch f32 runs 4-15x slower (docs: performance.md).
"""
import argparse
import os
import json
import statistics
import time

import torch

SHAPES = [(2048, 768, 768), (2048, 768, 3072), (512, 4096, 4096), (2048, 768, 16), (2048, 16, 768)]


def measure(dtype, m, k, n, repeats):
    a = torch.rand(m, k).sub_(0.5).to(dtype)
    b = torch.rand(k, n).sub_(0.5).to(dtype)
    for _ in range(3):
        torch.matmul(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="intra-op threads (torch defaults to physical cores; the native backend uses every logical CPU)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = {}
    for name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        for m, k, n in SHAPES:
            g = measure(dtype, m, k, n, args.repeats)
            rows.setdefault(name, []).append(g)
            if args.json:
                print(json.dumps({"dtype": name, "m": m, "k": k, "n": n, "gflops": g, "impl": f"torch {torch.__version__}"}))
    if not args.json:
        header = ["dtype"] + [f"{m}x{k}x{n}" for m, k, n in SHAPES]
        print(f"torch {torch.__version__} matmul ({torch.get_num_threads()} threads), GFLOP/s (M x K x N)")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for name, vals in rows.items():
            print("| " + name + " | " + " | ".join(f"{v:.0f}" for v in vals) + " |")


if __name__ == "__main__":
    main()
