package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"dsbuild/cache"
	rv "dsbuild/dataset/review"
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
		Condition: func(cond string) (bool, error) {
			if cond == "chromium" {
				_, err := exec.LookPath("chromium")
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
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
			"waitfile":  cmdWaitfile,
			"sleep":     cmdSleep,
			"corrupt":   cmdCorrupt,
			"browser":   cmdBrowser,
			"reviewpkg": cmdReviewPkg,
			"zip":       cmdZip,
		},
	})
}

// waitfile PATH waits up to 60 s for PATH to exist.
// cmdSleep pauses the script: sleep DURATION (a Go duration).
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

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

// browser PAGE.html NAME renders a page in headless Chromium, fails on any
// console message (errors and uncaught exceptions show there; a clean page
// logs nothing) or a missing screenshot, and keeps the screenshot as a test
// artifact: $DSBUILD_TEST_ARTIFACTS/NAME.png (default test-artifacts/ at
// the repository root). Scripts guard it with the condition [chromium]
// ([!chromium] skip 'install chromium'); .ci/run installs Chromium.
func cmdBrowser(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: browser PAGE.html NAME")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		ts.Fatalf("chromium is not installed (apt-get install chromium); guard browser checks with [chromium]")
	}
	page := ts.MkAbs(args[0])
	shot := ts.MkAbs(args[1] + ".png")
	ud := ts.MkAbs(".chromium-" + args[1])
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+ud,
		"--enable-logging=stderr", "--v=0", "--window-size=1280,1600", "--screenshot="+shot, "file://"+page)
	out, err := cmd.CombinedOutput()
	if err != nil {
		ts.Fatalf("chromium: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			ts.Fatalf("%s logged to the console: %s", args[0], line)
		}
	}
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 1000 {
		ts.Fatalf("no screenshot of %s (%v)", args[0], err)
	}
	dir := os.Getenv("DSBUILD_TEST_ARTIFACTS")
	if dir == "" {
		dir, _ = filepath.Abs("../../test-artifacts")
	}
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(dir, args[1]+".png"), png, 0o644))
	ts.Logf("screenshot of %s: %s", args[0], filepath.Join(dir, args[1]+".png"))
}

// reviewpkg DIR checks the review package in DIR against the rules of
// Supervisely, CVAT and Label Studio (review.ValidatePackage).
func cmdReviewPkg(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: reviewpkg DIR")
	}
	err := rv.ValidatePackage(ts.MkAbs(args[0]))
	if neg {
		if err == nil {
			ts.Fatalf("the review package is valid")
		}
		ts.Logf("%v", err)
		return
	}
	ts.Check(err)
}

// zip OUT.zip DIR writes the files below DIR into a new zip archive, named
// by their paths relative to DIR.
func cmdZip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: zip OUT.zip DIR")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	root := ts.MkAbs(args[1])
	ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}))
	ts.Check(zw.Close())
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o644))
}
