package files

import "dsbuild/engine"

// Paths implements engine.PathUser: a files step reads its path, so no
// step or command may write over or into it.
func (Kind) Paths(s *engine.Step) []engine.PathUse {
	return []engine.PathUse{{Attr: "path", Path: engine.Decoded[*settings](s.Config).path}}
}
