// Package remotetest is what the tests of dsbuild's remote cache share:
// real servers to test backends against, an in-memory reference remote
// with fault injection, and the conformance suite every cache.Remote
// backend passes.
//
// Servers. StartVersitygw (an S3 server) and StartBazelRemote (a Bazel
// remote cache speaking REAPI v2) run the binaries that tools/build.sh
// builds from the separate tools module, found by FindTool. Each server
// gets free loopback ports, a fresh data directory under t.TempDir(), and
// is stopped (and its directory removed) when the test ends. A start
// returns only once the server accepts connections; a server that exits
// or does not answer within a minute fails the test with its output. When
// a binary is absent the test is skipped, with a reason that names
// `bash tools/build.sh` — except in CI (the environment variable CI is
// non-empty) or when DSBUILD_TOOLS_BIN names the binaries' directory:
// there a missing server fails the test, so CI never skips silently.
// Stop kills a server with SIGKILL (a remote dying mid-build) and Restart
// brings it back on the same port with the same data.
//
// Memory returns a cache.Remote that keeps everything in memory, safe for
// concurrent use. It is the reference implementation of the interface
// and passes Run; its knobs corrupt, truncate or delete stored blobs,
// take the remote down, slow it, or fail chosen calls, and it counts the
// calls and bytes it served.
//
// Run (and RunWith) is the conformance suite: what every backend of
// cache.Remote must do, stated as tests (round trips of empty, small and
// streamed large blobs, misses, exact Missing sets, idempotent and
// concurrent puts, failed uploads that leave nothing readable, action
// entries, secrets kept out of String, prompt cancellation).
package remotetest
