#!/usr/bin/env bash
# Two "hosts" on one machine (issue 19): network namespaces cola-h1 and cola-h2 joined by a
# veth pair (10.77.0.1 <-> 10.77.0.2), and a 2-rank `cola train` launched across them by
# Open MPI over TCP with a hostfile, then compared with the single-process run; then a
# rank on the second host is stopped (SIGSTOP) and the watchdog (--rank-timeout) must end
# the job with a message naming it.
#
# Open MPI starts the remote daemon (orted) with ssh; here the "remote" host is a namespace
# of this machine, so the launcher agent (plm_rsh_agent) is a wrapper that runs the
# command with `ip netns exec` in the namespace owning the address instead of ssh.
# The file system is shared (one machine): rank 0 writes the run folder, rank 1 reads the
# model and data from the same paths, as on hosts sharing an NFS mount.
#
# Needs root (ip netns), Open MPI and the cola_mpi addon (npm run build:native).
# Usage: bash scripts/mpi-netns.sh [MODEL_DIR DATA_FILE]   (default: a tiny model built here)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/cola-netns-XXXXXX)
NS1=cola-h1 NS2=cola-h2 IP1=10.77.0.1 IP2=10.77.0.2 NET=10.77.0.0/24

cleanup() {
  ip netns del "$NS1" 2>/dev/null || true
  ip netns del "$NS2" 2>/dev/null || true
}
trap cleanup EXIT
cleanup

# --- the two hosts and the wire between them
ip netns add "$NS1"
ip netns add "$NS2"
ip link add cola-veth1 type veth peer name cola-veth2
ip link set cola-veth1 netns "$NS1"
ip link set cola-veth2 netns "$NS2"
ip -n "$NS1" addr add "$IP1/24" dev cola-veth1
ip -n "$NS2" addr add "$IP2/24" dev cola-veth2
for ns in "$NS1" "$NS2"; do
  ip -n "$ns" link set lo up
done
ip -n "$NS1" link set cola-veth1 up
ip -n "$NS2" link set cola-veth2 up
ip -n "$NS1" route get "$IP2" >/dev/null # the route to the other host goes over the veth
echo "hosts: $NS1 ($IP1) <-> $NS2 ($IP2) over a veth pair"

# --- the "ssh" of this cluster: `agent HOST COMMAND...` runs COMMAND in HOST's namespace
cat >"$WORK/netns-rsh" <<EOF
#!/usr/bin/env bash
host=\$1; shift
case "\$host" in
  $IP1) ns=$NS1 ;;
  $IP2) ns=$NS2 ;;
  *) echo "netns-rsh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
EOF
chmod +x "$WORK/netns-rsh"
printf '%s slots=1\n%s slots=1\n' "$IP1" "$IP2" >"$WORK/hostfile"

# --- a model and data (tiny ones unless given)
if [ $# -ge 2 ]; then
  MODEL=$1 DATA=$2
else
  node --input-type=module -e "
    import { tinyModelFolder, tinyCorpus } from '$ROOT/dist/test/helpers/tinyFolder.js';
    import * as fs from 'node:fs';
    const m = tinyModelFolder(7);
    fs.writeFileSync('$WORK/model.txt', m);
    fs.writeFileSync('$WORK/data.txt', tinyCorpus('$WORK', 44));
  "
  MODEL=$(cat "$WORK/model.txt") DATA=$(cat "$WORK/data.txt")
fi
ARGS=(train --model "$MODEL" --data "$DATA" --method cola --chain-length 3 --epochs 3 --batch-size 8 --max-length 16 --lr 5e-3 --quiet)
export COLA_BACKEND=${COLA_BACKEND:-reference} OMP_NUM_THREADS=1

node bin/cola.js "${ARGS[@]}" --out "$WORK/single"

# --- 2 ranks, one per namespace, TCP only, on the veth subnet
twoHosts() { # cola arguments...
  ip netns exec "$NS1" mpirun --allow-run-as-root --hostfile "$WORK/hostfile" -np 2 --map-by node \
    --mca plm_rsh_agent "$WORK/netns-rsh" \
    --mca btl tcp,self --mca btl_tcp_if_include "$NET" --mca oob_tcp_if_include "$NET" \
    -x COLA_BACKEND -x OMP_NUM_THREADS -x PATH \
    --wdir "$ROOT" \
    /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK on $(ip -o -4 addr show | grep -o "10\.77\.0\.[0-9]*" | head -1)" >&2; exec node bin/cola.js "$@"' sh \
    "$@"
}
twoHosts "${ARGS[@]}" --out "$WORK/two-hosts"

# --- the same result as one process
node --input-type=module -e "
  import { events, maxTensorDiff } from '$ROOT/dist/test/helpers/mpi.js';
  const a = events('$WORK/single').filter((e) => e.event === 'step');
  const b = events('$WORK/two-hosts').filter((e) => e.event === 'step');
  if (a.length !== b.length) throw new Error('different step counts: ' + a.length + ' vs ' + b.length);
  const dl = Math.max(...a.map((e, i) => Math.abs(e.loss - b[i].loss)));
  const da = maxTensorDiff('$WORK/single/adapter/adapter_model.safetensors', '$WORK/two-hosts/adapter/adapter_model.safetensors');
  console.log('two hosts vs one process: ' + a.length + ' steps, max |loss diff| ' + dl + ', max |adapter diff| ' + da);
  if (dl > 1e-5 || da > 1e-5) process.exit(1);
"

# --- a rank that hangs on the second host (SIGSTOP: a frozen process whose TCP connections
# stay open, which mpirun does not notice): the watchdog must end the job, naming it
HANG=(train --model "$MODEL" --data "$DATA" --method lora --epochs 200 --batch-size 8 --max-length 16 --lr 5e-3 --quiet)
twoHosts "${HANG[@]}" --rank-timeout 5 --out "$WORK/hang" >"$WORK/hang.log" 2>&1 &
job=$!
steps() { cat "$WORK/hang/metrics.jsonl" 2>/dev/null | grep -c '"step"' || true; }
until [ "$(steps)" -ge 5 ]; do
  kill -0 "$job" 2>/dev/null || { cat "$WORK/hang.log"; echo "the hang run ended early" >&2; exit 1; }
  sleep 0.2
done
victim=""
for p in $(pgrep -f "$WORK/hang"); do
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && grep -q 'cola.js' "/proc/$p/cmdline"; then victim=$p; fi
done
[ -n "$victim" ] || { echo "rank 1 not found" >&2; exit 1; }
t0=$(date +%s%N)
kill -STOP "$victim"
rc=0
wait "$job" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
kill -KILL "$victim" 2>/dev/null || true
grep -o 'rank 0 of 2 .*did not reach it' "$WORK/hang.log" | cut -c1-220 || true
echo "rank 1 (on $IP2) stopped: the job exited $rc after $ms ms (--rank-timeout 5)"
if [ "$rc" = 0 ] || ! grep -q 'rank(s) 1 did not reach it' "$WORK/hang.log"; then
  cat "$WORK/hang.log"
  exit 1
fi
echo "outputs in $WORK"
