package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// A remote is a store on another machine that several machines share (an
// S3 bucket, a Bazel remote cache): blobs by digest and action entries by
// step key, the two things REAPI's ContentAddressableStorage and
// ActionCache carry. Remote is what the store needs of one; the backends
// live in their own packages (remote/s3, remote/reapi) and pass the
// conformance suite of remote/remotetest.
//
// A remote is never trusted: the store verifies every blob it downloads
// against its digest, and checks that an action entry's blobs exist
// before it counts the step as cached. A backend only moves bytes.
type Remote interface {
	// Missing returns those of refs that the remote does not hold, in any
	// order, asking in batches (one request per batch, not per blob).
	Missing(ctx context.Context, refs []Ref) ([]Ref, error)
	// Put stores a blob: r yields exactly ref.Size bytes whose SHA-256 is
	// ref.Digest (the caller guarantees it). Storing a blob the remote
	// already holds succeeds; two machines may put the same blob at once.
	// Large blobs are streamed, never held whole in memory.
	Put(ctx context.Context, ref Ref, r io.Reader) error
	// Get opens a blob for reading. A blob the remote does not hold is an
	// error for which errors.Is(err, ErrRemoteMiss) holds. The bytes are
	// not verified by the backend; the caller verifies them.
	Get(ctx context.Context, ref Ref) (io.ReadCloser, error)
	// GetAction reads the action entry stored under key: named blob
	// references, sorted by name. No entry is an error for which
	// errors.Is(err, ErrRemoteMiss) holds.
	GetAction(ctx context.Context, key ActionKey) ([]RemoteOutput, error)
	// PutAction stores an action entry under key. Callers put every blob
	// it names first, so that no reader sees an entry whose blobs are
	// missing. Writing an entry that exists succeeds (either the old or
	// the new entry is kept; for a deterministic step they are equal).
	PutAction(ctx context.Context, key ActionKey, outs []RemoteOutput) error
	// String names the remote for messages: its URL without secrets.
	String() string
	// Close releases connections.
	Close() error
}

// Ref names a blob together with its size, as remotes address blobs
// (REAPI's digest is the pair).
type Ref struct {
	Digest Digest
	Size   int64
}

func (r Ref) String() string { return fmt.Sprintf("%s/%d", r.Digest, r.Size) }

// RemoteOutput is one named blob of a remote action entry.
type RemoteOutput struct {
	Name string
	Ref  Ref
}

// ErrRemoteMiss is what a Remote's Get and GetAction return (wrapped) for
// something it does not hold.
var ErrRemoteMiss = errors.New("not on the remote")

// RemoteAuthError reports a remote that refused the credentials it was
// given (HTTP 401/403, gRPC Unauthenticated/PermissionDenied): retrying
// cannot help, and the message says which remote and what to check.
type RemoteAuthError struct {
	Remote string // the remote, as Remote.String names it
	Err    error
}

func (e *RemoteAuthError) Error() string {
	return fmt.Sprintf("remote %s refused the credentials: %v", e.Remote, e.Err)
}

func (e *RemoteAuthError) Unwrap() error { return e.Err }
