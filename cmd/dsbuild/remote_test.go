package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/remote/remotetest"
)

// TestRemoteScripts runs the scripts of testdata/remote against each real
// remote backend: versitygw over S3 and bazel-remote over REAPI, started on
// loopback for the test (skipped, saying why, when tools/build.sh has not
// built them; never in CI). Each script plays several machines, each with
// its own store, sharing one remote. The scripts' recipes are
// recipes/datasets (copied, with its fixtures linked) and variants of it.
func TestRemoteScripts(t *testing.T) {
	scripts, err := filepath.Glob("../../testdata/remote/*.txtar")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in testdata/remote (%v)", err)
	}
	for _, backend := range []string{"s3", "reapi"} {
		for _, script := range scripts {
			t.Run(backend+"/"+strings.TrimSuffix(filepath.Base(script), ".txtar"), func(t *testing.T) {
				runRemoteScript(t, backend, script)
			})
		}
	}
}

// runRemoteScript runs one script against a server of its own (scripts
// stop the server and plant objects in it).
func runRemoteScript(t *testing.T, backend, script string) {
	// dsbuild talks to the server through a proxy that can kill
	// it at an exact byte of a transfer (remote cut).
	env := map[string]string{}
	var stop, restart func()
	var s3srv *remotetest.S3Server
	var proxy *remotetest.Proxy
	switch backend {
	case "s3":
		s3srv = remotetest.StartVersitygw(t)
		proxy = remotetest.StartProxy(t, strings.TrimPrefix(s3srv.Endpoint, "http://"))
		for k, v := range s3srv.Env() {
			env[k] = v
		}
		env["AWS_ENDPOINT_URL_S3"] = "http://" + proxy.Addr()
		env["DSBUILD_REMOTE"] = s3srv.URL("cache")
		stop, restart = s3srv.Stop, s3srv.Restart
	case "reapi":
		b := remotetest.StartBazelRemote(t)
		u, err := url.Parse(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		proxy = remotetest.StartProxy(t, u.Host)
		u.Host = proxy.Addr()
		env["DSBUILD_REMOTE"] = u.String()
		stop, restart = b.Stop, b.Restart
	}
	proxy.OnCut = stop
	testscript.Run(t, testscript.Params{
		Files:               []string{script},
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "s3", "reapi":
				return cond == backend, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			for k, v := range env {
				e.Setenv(k, v)
			}
			e.Setenv("DSBUILD_CACHE", filepath.Join(e.WorkDir, "store"))
			return writeRemoteRecipes(e, env["DSBUILD_REMOTE"])
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// remote stop|restart|cut up|down BYTES: kill the
			// server (SIGKILL); bring it back with its data; or
			// arm a kill after BYTES more bytes of uploads (up)
			// or downloads (down), as dsbuild sends and receives
			// them on the wire.
			"remote": func(ts *testscript.TestScript, neg bool, args []string) {
				usage := "usage: remote stop|restart|cut up|down BYTES"
				if neg || len(args) < 1 {
					ts.Fatalf("%s", usage)
				}
				switch {
				case args[0] == "stop" && len(args) == 1:
					stop()
				case args[0] == "restart" && len(args) == 1:
					restart()
					proxy.Restore()
				case args[0] == "cut" && len(args) == 3:
					n, err := strconv.ParseInt(args[2], 10, 64)
					if err != nil || (args[1] != "up" && args[1] != "down") {
						ts.Fatalf("%s", usage)
					}
					if args[1] == "up" {
						proxy.CutAfter(n, -1)
					} else {
						proxy.CutAfter(-1, n)
					}
				case args[0] == "cuts" && len(args) == 2:
					if got := fmt.Sprint(proxy.Cuts()); got != args[1] {
						ts.Fatalf("the remote was cut %s times, want %s", got, args[1])
					}
				default:
					ts.Fatalf("%s", usage)
				}
			},
			"needbytes": cmdNeedBytes,
			"plant": func(ts *testscript.TestScript, neg bool, args []string) {
				if s3srv == nil {
					ts.Fatalf("plant needs the s3 backend: guard it with [s3]")
				}
				cmdPlant(ts, neg, args, filepath.Join(s3srv.DataDir(), s3srv.Bucket, "cache"))
			},
		},
	})
}

// writeRemoteRecipes links testdata/fixtures into the script's work
// directory and writes recipes/datasets (as the repository has it) and its
// variants: datasets2 and datasets3, whose exec.count differs by spaces
// (it runs and reads its inputs); train, a small training recipe; person
// (as the repository has it); pinned, datasets naming remoteURL in a
// remote block.
func writeRemoteRecipes(e *testscript.Env, remoteURL string) error {
	recipe, err := os.ReadFile("../../recipes/datasets/main.hcl")
	if err != nil {
		return err
	}
	fixtures, err := filepath.Abs("../../testdata/fixtures")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(e.WorkDir, "testdata"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(fixtures, filepath.Join(e.WorkDir, "testdata", "fixtures")); err != nil {
		return err
	}
	// recipes/datasets, and recipes/datasets2 whose exec.count
	// differs by a space: it runs and reads its inputs.
	variants := map[string]string{
		"datasets":  string(recipe),
		"datasets2": strings.Replace(string(recipe), "mkdir -p out && for d", "mkdir -p out  && for d", 1),
	}
	// recipes/datasets3: another such variant.
	variants["datasets3"] = strings.Replace(string(recipe), "mkdir -p out && for d", "mkdir -p out   && for d", 1)
	// recipes/train: a small training recipe.
	variants["train"] = remoteTrainRecipe
	// recipes/person: the bootstrap loop (scripts reduce it with -var).
	person, err := os.ReadFile("../../recipes/person/main.hcl")
	if err != nil {
		return err
	}
	variants["person"] = string(person)
	// recipes/pinned names the remote in a remote block.
	variants["pinned"] = string(recipe) + "\nremote {\n  url = \"" + remoteURL + "\"\n}\n"
	// recipes/pinnedro: datasets3 naming the remote read-only.
	variants["pinnedro"] = variants["datasets3"] + "\nremote {\n  url    = \"" + remoteURL + "\"\n  upload = false\n}\n"
	if variants["datasets2"] == variants["datasets"] {
		return fmt.Errorf("recipes/datasets changed: the variant's edit no longer applies")
	}
	for name, text := range variants {
		dir := filepath.Join(e.WorkDir, "recipes", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// remoteTrainRecipe trains a small UNet (as testdata/script/train.txtar's
// rec): the two-machine script shares a model, not only datasets.
const remoteTrainRecipe = `import "syn" {
  format  = "synthetic"
  options = { count = "16", width = "32", height = "32", figures = "1-2", seed = "1" }
}
split "s" {
  from  = import.syn
  parts = { train = 0.75, val = 0.25 }
}
train "small" {
  data          = split.s.train
  validation    = split.s.val
  input_size    = 32
  depth         = 1
  width         = 4
  epochs        = 2
  batch         = 4
  learning_rate = 0.003
}
`

// lockedTree opens the store at storeDir (no remote) and returns the
// digest dsbuild.lock of recipe records for step's output.
func lockedTree(ts *testscript.TestScript, storeDir, recipe, step, output string) (*cache.Store, cache.Digest) {
	s, err := cache.Open(ts.MkAbs(storeDir), nil)
	ts.Check(err)
	lf, err := engine.ReadLockfile(ts.MkAbs(recipe))
	ts.Check(err)
	ls, ok := lf.Steps[step]
	if !ok {
		ts.Fatalf("%s is not in %s's lockfile", step, recipe)
	}
	d, ok := ls.Outputs[output]
	if !ok {
		ts.Fatalf("%s has no output %s", step, output)
	}
	return s, d
}

// needbytes STORE_A STORE_B RECIPE STEP OUTPUT VAR sets VAR to the number
// of bytes of the blobs that output reaches (trees and files, read from
// store A, which holds them all) that store B does not hold: what a
// checkout on B must download, and no more.
func cmdNeedBytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 6 {
		ts.Fatalf("usage: needbytes STORE_A STORE_B RECIPE STEP OUTPUT VAR")
	}
	a, root := lockedTree(ts, args[0], args[2], args[3], args[4])
	b, err := cache.Open(ts.MkAbs(args[1]), nil)
	ts.Check(err)
	seen := map[cache.Digest]bool{}
	var need int64
	add := func(d cache.Digest, size int64) {
		if !seen[d] {
			seen[d] = true
			if !b.Has(d) {
				need += size
			}
		}
	}
	tree, err := a.ReadBlob(root)
	ts.Check(err)
	add(root, int64(len(tree)))
	ts.Check(a.WalkTree(root, func(_ string, e cache.TreeEntry) error {
		if e.Kind == cache.Dir {
			t, err := a.ReadBlob(e.Digest)
			if err != nil {
				return err
			}
			add(e.Digest, int64(len(t)))
			return nil
		}
		add(e.Digest, e.Size)
		return nil
	}))
	if need == 0 {
		ts.Fatalf("store B already holds all of %s.%s: the check would prove nothing", args[3], args[4])
	}
	ts.Setenv(args[5], fmt.Sprint(need))
}

// plant corrupt|truncate|delete STORE RECIPE STEP OUTPUT PATH changes, in
// the S3 bucket, the object of the file at PATH in the output (as store
// STORE, which holds it, resolves it): one byte flipped, cut to half, or
// removed. bucketPrefix is the remote's directory on the server's disk.
func cmdPlant(ts *testscript.TestScript, neg bool, args []string, bucketPrefix string) {
	if neg || len(args) != 6 {
		ts.Fatalf("usage: plant corrupt|truncate|delete STORE RECIPE STEP OUTPUT PATH")
	}
	s, root := lockedTree(ts, args[1], args[2], args[3], args[4])
	var target cache.Digest
	if args[5] == "." {
		target = root // the output itself: always an object of its own
	}
	ts.Check(s.WalkTree(root, func(p string, e cache.TreeEntry) error {
		if p == args[5] {
			target = e.Digest
		}
		return nil
	}))
	if target.IsZero() {
		ts.Fatalf("%s.%s has no file %s", args[3], args[4], args[5])
	}
	h := target.Hex()
	obj := filepath.Join(bucketPrefix, "cas", h[:2], h)
	data, err := os.ReadFile(obj)
	if errors.Is(err, fs.ErrNotExist) {
		// A small blob travels in a pack: corrupt its bytes there.
		if args[0] != "corrupt" {
			ts.Fatalf("%s lives in a pack on the remote: plant %s needs an object of its own (PATH . is the output's root tree)", args[5], args[0])
		}
		plantInPack(ts, s, target, bucketPrefix)
		return
	}
	ts.Check(err)
	switch args[0] {
	case "corrupt":
		data[len(data)/2] ^= 0x55
		ts.Check(os.WriteFile(obj, data, 0o644))
	case "truncate":
		ts.Check(os.WriteFile(obj, data[:len(data)/2], 0o644))
	case "delete":
		ts.Check(os.Remove(obj))
	default:
		ts.Fatalf("usage: plant corrupt|truncate|delete STORE RECIPE STEP OUTPUT PATH")
	}
	ts.Logf("planted: %s %s (%s)", args[0], h[:12], args[5])
}

// plantInPack flips a byte in the middle of blob d's bytes inside the pack
// on the bucket that holds them (found by content: the pack objects start
// with "dsbuild pack v1").
func plantInPack(ts *testscript.TestScript, s *cache.Store, d cache.Digest, bucketPrefix string) {
	want, err := s.ReadBlob(d)
	ts.Check(err)
	packs, err := filepath.Glob(filepath.Join(bucketPrefix, "cas", "*", "*"))
	ts.Check(err)
	for _, p := range packs {
		data, err := os.ReadFile(p)
		ts.Check(err)
		if !bytes.HasPrefix(data, []byte("dsbuild pack v1\n")) {
			continue
		}
		if i := bytes.Index(data, want); i >= 0 && len(want) > 0 {
			data[i+len(want)/2] ^= 0x55
			ts.Check(os.WriteFile(p, data, 0o644))
			ts.Logf("planted: corrupt %s inside pack %s", d.Short(), filepath.Base(p)[:12])
			return
		}
	}
	ts.Fatalf("blob %s is neither an object nor in a pack on the bucket", d.Short())
}
