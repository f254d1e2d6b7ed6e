#!/bin/sh
# Issue 15: cola's AVX2 GEMM against oneDNN's sgemm (bench/gemm/harness.cc).
set -e
cd "$(dirname "$0")/../.."
g++ -std=c++17 -O3 -mavx2 -mfma -fopenmp -fno-math-errno native/gemm.cc bench/gemm/harness.cc -ldnnl -o /tmp/cola-gemm-bench
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} /tmp/cola-gemm-bench "$@"
