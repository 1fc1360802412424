package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"dsbuild/cache"
	"dsbuild/engine"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"dsbuild": func() { os.Exit(run(os.Args[1:])) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: each drives
// the real CLI on recipes written by the script, with its own store.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("DSBUILD_CACHE", filepath.Join(env.WorkDir, ".cache"))
			fixtures, err := filepath.Abs("../../testdata/fixtures")
			if err != nil {
				return err
			}
			env.Setenv("FIXTURES", fixtures)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitfile,
			"corrupt":  cmdCorrupt,
		},
	})
}

// waitfile PATH waits up to 60 s for PATH to exist.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile PATH")
	}
	p := ts.MkAbs(args[0])
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear within 60 s", p)
}

// corrupt RECIPE STEP OUTPUT [same-size|delete] overwrites, in the store, the
// blob of the first file of a step's locked output: with different bytes of
// another size, or of the same size with same-size; delete removes it
// behind the store's back.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: corrupt RECIPE STEP OUTPUT [same-size]")
	}
	lf, err := engine.ReadLockfile(ts.MkAbs(args[0]))
	ts.Check(err)
	entry := lf.Steps[args[1]]
	if entry == nil {
		ts.Fatalf("%s not in lockfile", args[1])
	}
	store, err := cache.Open(ts.Getenv("DSBUILD_CACHE"), nil)
	ts.Check(err)
	var victim cache.TreeEntry
	ts.Check(store.WalkTree(entry.Outputs[args[2]], func(p string, e cache.TreeEntry) error {
		if e.Kind != cache.Dir && victim.Name == "" {
			victim = e
		}
		return nil
	}))
	if victim.Name == "" {
		ts.Fatalf("%s.%s has no file", args[1], args[2])
	}
	h := victim.Digest.Hex()
	p := filepath.Join(ts.Getenv("DSBUILD_CACHE"), "blobs", h[:2], h)
	if _, err := os.Stat(p); err != nil {
		ts.Fatalf("blob of %s is not stored raw: %v", victim.Name, err)
	}
	if len(args) == 4 && args[3] == "delete" {
		ts.Check(os.Remove(p))
		ts.Logf("deleted %s (%s)", victim.Name, victim.Digest.Short())
		return
	}
	data := []byte("this is not what was stored\n")
	if len(args) == 4 && args[3] == "same-size" {
		old, err := os.ReadFile(p)
		ts.Check(err)
		data = append([]byte(nil), old...)
		data[0] ^= 0xff
	}
	ts.Check(os.Chmod(p, 0o644))
	ts.Check(os.WriteFile(p, data, 0o444))
	ts.Logf("corrupted %s (%s)", victim.Name, victim.Digest.Short())
}
