#!/usr/bin/env bash
# Builds the remote cache test servers into <repo>/bin/:
#   bin/versitygw     an S3 server (github.com/versity/versitygw, Apache-2.0)
#   bin/bazel-remote  a Bazel remote cache, REAPI v2 over gRPC
#                     (github.com/buchgr/bazel-remote/v2, Apache-2.0)
# at the versions pinned in tools/go.mod. This module is separate from the
# main one so that the servers' requirements never enter dsbuild's go.mod;
# `go test ./...` at the repository root does not descend into it.
#
# Quiet on success. The Go build cache makes a second run take about a
# second (go build leaves an up-to-date binary alone). bazel-remote links
# zstd through cgo, so gcc must be installed.
set -euo pipefail
tools=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$tools")/bin
cd "$tools"

cc=$(go env CC)
if ! command -v "${cc%% *}" > /dev/null; then
  echo "tools/build.sh: bazel-remote needs a C compiler for cgo ($cc not found); install gcc" >&2
  exit 1
fi

mkdir -p "$bin"
# -mod=readonly: the pinned versions, never a silent upgrade; GOWORK=off:
# a go.work above the checkout must not pull this module into another.
GOWORK=off CGO_ENABLED=1 go build -mod=readonly -o "$bin/" \
  github.com/versity/versitygw/cmd/versitygw \
  github.com/buchgr/bazel-remote/v2
