#!/bin/sh
# Issue 15: cola's AVX2 GEMM (native/gemm.cc) against oneDNN's sgemm, and the FMA ceiling.
#   sh bench/gemm/run.sh [rounds [m,n,k,t|n ...]]  the products (bench/gemm/harness.cc), OpenMP's threads;
#                                      default: the opt-125m step's shapes
#   sh bench/gemm/run.sh peak          the FMA peak (bench/gemm/fmaPeak.c)
#   sh bench/gemm/run.sh pack          packing a bf16 B block panel by panel or in groups (bench/gemm/packOrder.cc)
set -e
cd "$(dirname "$0")/../.."
if [ "${1:-}" = peak ]; then
  gcc -O3 -mavx2 -mfma -fopenmp bench/gemm/fmaPeak.c -o /tmp/cola-fma-peak
  exec /tmp/cola-fma-peak
fi
if [ "${1:-}" = pack ]; then
  g++ -std=c++17 -O3 -mavx2 bench/gemm/packOrder.cc -o /tmp/cola-pack-order
  exec /tmp/cola-pack-order
fi
g++ -std=c++17 -O3 -mavx2 -mfma -fopenmp -fno-math-errno native/gemm.cc bench/gemm/harness.cc -ldnnl -o /tmp/cola-gemm-bench
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} /tmp/cola-gemm-bench "$@"
