// Package reapi is the cache.Remote of a Bazel remote cache: REAPI v2's
// ContentAddressableStorage, ActionCache, ByteStream and Capabilities
// services over gRPC (bazel-remote, BuildBuddy, NativeLink, EngFlow,
// Buildbarn), on the generated stubs of github.com/bazelbuild/remote-apis.
//
// # Addresses and credentials
//
//	grpc://[USER:PASSWORD@]HOST:PORT[/INSTANCE/NAME]   plaintext
//	grpcs://[USER:PASSWORD@]HOST[:PORT][/INSTANCE/NAME] TLS (port 443 by default)
//
// The path, if any, is the REAPI instance name, sent with every call. TLS
// checks the server against the system's roots, or against Options.CAFile.
// Options.Headers go with every call as gRPC metadata (Bazel's
// --remote_header, e.g. "authorization: Bearer …"); a user and password in
// the URL go as HTTP basic auth ("authorization: Basic …", what
// bazel-remote's --htpasswd_file checks). String names the remote by its
// URL without the user and password, and no error shows them.
//
// # Blobs
//
// A blob is addressed by REAPI's Digest, the lower-case hex SHA-256 of its
// uncompressed bytes and their count, which is cache.Ref. Open asks the
// server's capabilities and refuses a server that does not offer SHA-256.
//
//   - Missing asks FindMissingBlobs about up to 10,000 digests a call.
//   - Put sends a blob of up to 1 MiB (and within the server's
//     max_batch_total_size_bytes) in BatchUpdateBlobs, a larger one through
//     ByteStream Write to {instance}/uploads/{uuid}/blobs/{hash}/{size} in
//     messages of at most 1 MiB, read from the caller as they go (never the
//     whole blob in memory). Where the server offers zstd (for batches and
//     for ByteStream separately), a blob whose bytes (or whose first MiB)
//     compress by a tenth or more travels zstd-compressed, through
//     compressed-blobs/zstd/{hash}/{size} for a stream. A server that
//     already holds the blob may end a Write early (committed_size -1 for a
//     compressed upload, the blob's size otherwise) or answer
//     ALREADY_EXISTS: both are success.
//   - Get reads a small blob with BatchReadBlobs and streams a larger one
//     with ByteStream Read, from compressed-blobs/zstd/... where offered,
//     decompressing as the bytes arrive. The reader fails when the server
//     sends more or fewer bytes than the size; the digest is not checked
//     here: the store verifies every blob it takes.
//   - The empty blob is always there: Missing never reports it, Get returns
//     it and Put stores it without a call.
//
// # Action entries
//
// A dsbuild step key is not a REAPI Action digest, so each key is mapped
// onto an Action that no build tool would make, and which a REAPI server
// accepts and its tools can display:
//
//	Command      {arguments: ["dsbuild-step", <step key, 64 hex digits>]}
//	Action       {command_digest: <the Command's>,
//	              input_root_digest: <the empty Directory's>}
//	AC key       the Action's digest (SHA-256 and size of its encoding)
//	ActionResult {output_files: [{path: <output name>, digest: <blob>}…],
//	              sorted by path; exit_code 0}
//
// Both messages are encoded with proto.MarshalOptions{Deterministic: true};
// TestActionMapping pins the AC key of one step key, checked against a
// hand encoding. PutAction uploads the Command and the Action (so that the
// entry can be inspected) and then calls UpdateActionResult; its caller
// uploads the outputs' blobs first. GetAction calls GetActionResult and
// returns the output files sorted by name; an entry with output
// directories or symbolic links, a non-zero exit code, or an invalid or
// repeated output is a miss that says why.
//
// # What is verified where
//
// This package checks the shape of what a server sends (digests, sizes,
// entries as above) and nothing else; it does not hash blobs. cache.Store
// verifies every downloaded blob against its digest and checks that the
// blobs of an action entry exist before it counts a step as cached.
// Servers check too: bazel-remote verifies every uploaded blob against its
// digest, and checks that the blobs an ActionResult names exist when the
// entry is read, not when it is written: an entry naming a missing blob is
// accepted by UpdateActionResult and then answered NOT_FOUND, a miss.
//
// # Errors and time
//
// NOT_FOUND wraps cache.ErrRemoteMiss. UNAUTHENTICATED and
// PERMISSION_DENIED are a *cache.RemoteAuthError naming the remote and
// telling the user to check the URL's credentials or the headers. Every
// other error names the remote and the call, and keeps the gRPC status
// (status.Code finds it). A call that moves no stream has Options.Timeout
// (60 s by default); a stream has no overall limit but fails with
// context.DeadlineExceeded when it goes that long without progress. There
// are no retries and no circuit breaker here: cache.Store adds them above
// the interface.
package reapi
