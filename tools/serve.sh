#!/usr/bin/env bash
# Starts a local test server for dsbuild (a remote cache, or Temporal) in
# the foreground; see usage below. Builds the servers first
# (tools/build.sh) when bin/ lacks them.
set -euo pipefail

usage() {
  cat << 'EOF'
usage: tools/serve.sh s3|bazel|temporal [DATA_DIR]

Starts a local test server for dsbuild's remote cache, or a Temporal server
for distributed builds, in the foreground, on fixed loopback ports, and
prints the environment that a dsbuild in another shell needs to use it.
Stop it with Ctrl-C; the data stays in DATA_DIR.

  s3     versitygw, an S3 server, on http://127.0.0.1:7070, access key
         dsbuild, secret key dsbuild-secret, with the bucket "dsbuild" (a
         directory DATA_DIR/dsbuild). dsbuild's remote: s3://dsbuild/cache
  bazel  bazel-remote, a Bazel remote cache (REAPI v2), gRPC on
         127.0.0.1:9092 and HTTP on 127.0.0.1:8080, an LRU cache of at most
         10 GiB. dsbuild's remote: grpc://127.0.0.1:9092
  temporal
         the Temporal dev server (`temporal server start-dev`, no web UI)
         on 127.0.0.1:7233, namespace "default", its state in
         DATA_DIR/temporal.db (SQLite), so that it survives a restart.
         dsbuild's --temporal: 127.0.0.1:7233 (or DSBUILD_TEMPORAL)

DATA_DIR holds what the server stores (created if absent; default: a new
temporary directory, named when the server starts). Two servers of the same
kind cannot run at once: the ports are fixed.

The servers are built from the tools modules (tools/go.mod, and
tools/temporal/go.mod for temporal) into bin/ by tools/build.sh, which this
script runs when bin/ lacks them; the first build takes a few minutes and
needs gcc.
EOF
}

case "${1:-}" in
  -h | --help | help) usage; exit 0 ;;
  s3 | bazel | temporal) kind=$1 ;;
  *) usage >&2; exit 2 ;;
esac
if [ $# -gt 2 ]; then
  usage >&2
  exit 2
fi

tools=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$tools")/bin
if [ ! -x "$bin/versitygw" ] || [ ! -x "$bin/bazel-remote" ] || [ ! -x "$bin/temporal" ]; then
  echo "tools/serve.sh: building the servers into $bin (tools/build.sh; minutes the first time)" >&2
  bash "$tools/build.sh"
fi

if [ $# -eq 2 ]; then
  data=$2
  mkdir -p "$data"
else
  data=$(mktemp -d "${TMPDIR:-/tmp}/dsbuild-$kind.XXXXXX")
fi
data=$(cd "$data" && pwd)

case $kind in
  s3)
    mkdir -p "$data/dsbuild"
    cat << EOF
versitygw (S3) on http://127.0.0.1:7070, bucket dsbuild, data in $data
In another shell:

export AWS_ACCESS_KEY_ID=dsbuild AWS_SECRET_ACCESS_KEY=dsbuild-secret AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=http://127.0.0.1:7070 DSBUILD_REMOTE=s3://dsbuild/cache

EOF
    ROOT_ACCESS_KEY=dsbuild ROOT_SECRET_KEY=dsbuild-secret \
      exec "$bin/versitygw" --port 127.0.0.1:7070 --region us-east-1 --quiet posix "$data"
    ;;
  bazel)
    cat << EOF
bazel-remote (REAPI v2) on grpc://127.0.0.1:9092 (HTTP http://127.0.0.1:8080), data in $data
In another shell:

export DSBUILD_REMOTE=grpc://127.0.0.1:9092

EOF
    exec "$bin/bazel-remote" --dir "$data" --max_size 10 \
      --grpc_address 127.0.0.1:9092 --http_address 127.0.0.1:8080
    ;;
  temporal)
    cat << EOF
Temporal dev server on 127.0.0.1:7233 (namespace default), state in $data/temporal.db
In another shell:

export DSBUILD_TEMPORAL=127.0.0.1:7233

EOF
    exec "$bin/temporal" server start-dev --ip 127.0.0.1 --port 7233 --headless \
      --db-filename "$data/temporal.db"
    ;;
esac
