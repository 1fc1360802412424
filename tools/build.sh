#!/usr/bin/env bash
# Builds the test servers into <repo>/bin/:
#   bin/versitygw     an S3 server (github.com/versity/versitygw, Apache-2.0)
#   bin/bazel-remote  a Bazel remote cache, REAPI v2 over gRPC
#                     (github.com/buchgr/bazel-remote/v2, Apache-2.0)
# at the versions pinned in tools/go.mod, and
#   bin/temporal      the Temporal CLI, whose `server start-dev` is a
#                     Temporal server with SQLite (github.com/temporalio/cli,
#                     MIT)
# at the version pinned in tools/temporal/go.mod. These modules are separate
# from the main one so that the servers' requirements never enter dsbuild's
# go.mod, and from each other so that the Temporal CLI's 167 requirements
# never move versitygw's or bazel-remote's versions; `go test ./...` at the
# repository root descends into neither.
#
# Quiet on success. The Go build cache makes a second run take a few
# seconds (go build leaves an up-to-date binary alone); the first takes
# minutes, most of them for bin/temporal (about 250 MB). bazel-remote links
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
cd "$tools/temporal"
# Pure Go (SQLite from modernc.org): no cgo.
GOWORK=off CGO_ENABLED=0 go build -mod=readonly -o "$bin/" \
  github.com/temporalio/cli/cmd/temporal
