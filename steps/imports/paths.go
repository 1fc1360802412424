package imports

import "dsbuild/engine"

// Paths implements engine.PathUser: an import reads its path (when its
// format reads a directory), so no step or command may write over or into
// it.
func (Kind) Paths(s *engine.Step) []engine.PathUse {
	if p := engine.Decoded[*settings](s.Config).path; p != "" {
		return []engine.PathUse{{Attr: "path", Path: p}}
	}
	return nil
}
