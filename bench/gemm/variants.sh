#!/bin/sh
# Issue 15: copies of native/gemm.cc against each other, alternated in ONE process, so the
# machine's minute-to-minute speed (the host shares these cores: +-20%) cancels in the per-
# repetition time ratios. Each variant is a copy of gemm.cc with one change, compiled in a
# namespace of its own; the first is the reference the others are timed against.
#   sh bench/gemm/variants.sh [reps] NAME=FILE.cc NAME=FILE.cc ...
#   e.g. cp native/gemm.cc /tmp/kc384.cc; sed -i 's/kKC = 768/kKC = 384/' /tmp/kc384.cc
#        sh bench/gemm/variants.sh 9 base=native/gemm.cc kc384=/tmp/kc384.cc
# Prints per opt-125m step shape each variant's median GFLOP/s and its median time ratio to the
# first (bf16 B, as cola's default), then the products of one step (calls weighted) in ms.
set -e
cd "$(dirname "$0")/../.."
reps=9
case "${1:-}" in *=*) ;; '') ;; *) reps=$1; shift ;; esac
[ $# -ge 2 ] || { echo "usage: sh bench/gemm/variants.sh [reps] NAME=FILE.cc NAME=FILE.cc ..." >&2; exit 2; }
dir=$(mktemp -d)
objs=""
decls=""
fns=""
names=""
for spec in "$@"; do
  name=${spec%%=*}
  file=${spec#*=}
  sed -e "s/^namespace cola {/namespace cola { namespace v_$name {/" -e "s|^}  // namespace cola|}}  // namespace cola|" "$file" > "$dir/$name.cc"
  g++ -std=c++17 -O3 -mavx2 -mfma -fopenmp -fno-math-errno -Inative -c "$dir/$name.cc" -o "$dir/$name.o"
  objs="$objs $dir/$name.o"
  decls="$decls namespace cola { namespace v_$name { void gemmAvx2(const GemmArgs&); } }"
  fns="$fns cola::v_$name::gemmAvx2,"
  names="$names \"$name\","
done
cat > "$dir/list.cc" <<EOT
#include "gemm.h"
#include <vector>
$decls
std::vector<void (*)(const cola::GemmArgs&)> variants = {$fns};
std::vector<const char*> names = {$names};
EOT
g++ -std=c++17 -O3 -mavx2 -mfma -fopenmp -Inative "$dir/list.cc" bench/gemm/variantsDriver.cc $objs -o "$dir/variants"
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} "$dir/variants" "$reps"
rm -rf "$dir"
