package reapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"dsbuild/cache"
)

// stepProgram is the first argument of the Command of every dsbuild action.
const stepProgram = "dsbuild-step"

// action is the REAPI form of a dsbuild step key: the Command and Action
// messages, encoded, and the Action's digest, which keys the ActionCache.
type action struct {
	command, action []byte
	commandRef, key cache.Ref
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// actionOf maps a step key onto a REAPI Action: a Command whose arguments
// are ["dsbuild-step", <key hex>] over the empty input root.
func actionOf(key cache.ActionKey) action {
	var a action
	a.command, _ = deterministic.Marshal(&repb.Command{Arguments: []string{stepProgram, cache.Digest(key).Hex()}})
	a.commandRef = cache.Ref{Digest: cache.Sum(a.command), Size: int64(len(a.command))}
	// The empty Directory encodes to no bytes: its digest is the empty blob's.
	emptyDir, _ := deterministic.Marshal(&repb.Directory{})
	a.action, _ = deterministic.Marshal(&repb.Action{
		CommandDigest:   pbDigest(a.commandRef),
		InputRootDigest: pbDigest(cache.Ref{Digest: cache.Sum(emptyDir), Size: int64(len(emptyDir))}),
	})
	a.key = cache.Ref{Digest: cache.Sum(a.action), Size: int64(len(a.action))}
	return a
}

// checkName refuses an output name that is no relative REAPI output path.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("an output has no name")
	case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
		return fmt.Errorf("output name %q is not valid UTF-8 text", name)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("output name %q is absolute", name)
	}
	return nil
}

// PutAction stores the action entry of key: it uploads the Command and the
// Action (so the entry can be inspected with REAPI tools), then writes an
// ActionResult whose output files are outs, sorted by path, with exit code
// 0. Callers upload the outputs' blobs first; a server that validates
// entries may refuse or drop one naming a missing blob.
func (r *Remote) PutAction(ctx context.Context, key cache.ActionKey, outs []cache.RemoteOutput) error {
	if !r.updateAC {
		return fmt.Errorf("remote %s: the server does not let clients write action entries (update_enabled is false)", r.name)
	}
	res := &repb.ActionResult{}
	for _, o := range outs {
		if err := checkName(o.Name); err != nil {
			return fmt.Errorf("action %s: %w", key.Short(), err)
		}
		if err := checkRef(o.Ref); err != nil {
			return fmt.Errorf("action %s: output %s: %w", key.Short(), o.Name, err)
		}
		res.OutputFiles = append(res.OutputFiles, &repb.OutputFile{Path: o.Name, Digest: pbDigest(o.Ref)})
	}
	slices.SortFunc(res.OutputFiles, func(a, b *repb.OutputFile) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(res.OutputFiles); i++ {
		if res.OutputFiles[i].Path == res.OutputFiles[i-1].Path {
			return fmt.Errorf("action %s: two outputs are named %q", key.Short(), res.OutputFiles[i].Path)
		}
	}

	a := actionOf(key)
	if err := r.batchUpdate(ctx, []blob{{a.commandRef, a.command}, {a.key, a.action}}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err := r.ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
		InstanceName: r.instance,
		ActionDigest: pbDigest(a.key),
		ActionResult: res,
	})
	if err != nil {
		return r.fail(ctx, fmt.Sprintf("UpdateActionResult (step %s, action %s)", key.Short(), a.key), err)
	}
	return nil
}

// GetAction reads the action entry of key. No entry, or one that no dsbuild
// wrote (output directories or symbolic links, a non-zero exit code, an
// invalid or repeated output), is a miss: an error for which
// errors.Is(err, cache.ErrRemoteMiss) holds, saying why.
func (r *Remote) GetAction(ctx context.Context, key cache.ActionKey) ([]cache.RemoteOutput, error) {
	a := actionOf(key)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.ac.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: r.instance, ActionDigest: pbDigest(a.key)})
	if err != nil {
		return nil, r.fail(ctx, fmt.Sprintf("GetActionResult (step %s, action %s)", key.Short(), a.key), err)
	}
	miss := func(format string, args ...any) error {
		return fmt.Errorf("remote %s: step %s: %w: the action entry %s", r.name, key.Short(), cache.ErrRemoteMiss, fmt.Sprintf(format, args...))
	}
	switch {
	case res.GetExitCode() != 0:
		return nil, miss("has exit code %d", res.GetExitCode())
	case len(res.GetOutputDirectories()) > 0:
		return nil, miss("has output directories")
	case len(res.GetOutputSymlinks()) > 0 || len(res.GetOutputFileSymlinks()) > 0 || len(res.GetOutputDirectorySymlinks()) > 0: //nolint:staticcheck // deprecated fields still mean a foreign entry
		return nil, miss("has output symbolic links")
	}
	outs := make([]cache.RemoteOutput, 0, len(res.GetOutputFiles()))
	for _, f := range res.GetOutputFiles() {
		if err := checkName(f.GetPath()); err != nil {
			return nil, miss("is invalid: %v", err)
		}
		ref, err := parseDigest(f.GetDigest())
		if err == nil {
			err = checkRef(ref)
		}
		if err != nil {
			return nil, miss("is invalid: output %s: %v", f.GetPath(), err)
		}
		outs = append(outs, cache.RemoteOutput{Name: f.GetPath(), Ref: ref})
	}
	slices.SortFunc(outs, func(a, b cache.RemoteOutput) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(outs); i++ {
		if outs[i].Name == outs[i-1].Name {
			return nil, miss("names output %q twice", outs[i].Name)
		}
	}
	return outs, nil
}
