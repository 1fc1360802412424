# Sourced by the benchmark scripts that start servers (bench/remote.sh,
# bench/distributed.sh): pids holds what they started, killed on exit;
# free_port prints a loopback TCP port that nothing listens on.

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
}
trap cleanup EXIT

free_port() {
  local p
  for ((p = 20000 + RANDOM % 20000; ; p++)); do
    if ! (: < "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then
      echo "$p"
      return
    fi
  done
}
