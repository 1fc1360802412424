package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"dsbuild/remote/remotetest"
	"dsbuild/temporal/temporaltest"
)

// TestDistributedScripts runs the scripts of testdata/distributed: builds
// with --executor temporal against a Temporal dev server and versitygw,
// both started on loopback for each script (skipped, saying why, when
// tools/build.sh has not built them; never in CI). Workers are dsbuild
// worker processes the scripts start and kill.
func TestDistributedScripts(t *testing.T) {
	scripts, err := filepath.Glob("../../testdata/distributed/*.txtar")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in testdata/distributed (%v)", err)
	}
	for _, script := range scripts {
		t.Run(strings.TrimSuffix(filepath.Base(script), ".txtar"), func(t *testing.T) {
			s3srv := remotetest.StartVersitygw(t)
			tsrv := temporaltest.Start(t)
			env := s3srv.Env()
			env["DSBUILD_REMOTE"] = s3srv.URL("cache")
			env["DSBUILD_TEMPORAL"] = tsrv.Addr()
			testscript.Run(t, testscript.Params{
				Files:               []string{script},
				RequireExplicitExec: true,
				Setup: func(e *testscript.Env) error {
					for k, v := range env {
						e.Setenv(k, v)
					}
					e.Setenv("DSBUILD_CACHE", filepath.Join(e.WorkDir, "store"))
					return writeRemoteRecipes(e, env["DSBUILD_REMOTE"])
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
					"sleep":   cmdSleep,
					"waitlog": cmdWaitlog,
					// temporal stop|restart: kill the Temporal server
					// (SIGKILL) or start it again with its state.
					"temporal": func(ts *testscript.TestScript, neg bool, args []string) {
						if neg || len(args) != 1 {
							ts.Fatalf("usage: temporal stop|restart")
						}
						switch args[0] {
						case "stop":
							tsrv.Stop()
						case "restart":
							tsrv.Restart()
						default:
							ts.Fatalf("usage: temporal stop|restart")
						}
					},
				},
			})
		})
	}
}

// cmdWaitlog is "waitlog FILE REGEXP": wait (at most 60 s) until a line of
// FILE, which a background command writes, matches REGEXP.
func cmdWaitlog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlog FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	p := ts.MkAbs(args[0])
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(p); err == nil && re.Match(b) {
			return
		}
	}
	b, _ := os.ReadFile(p)
	ts.Fatalf("no line of %s matched %q within 60 s; it holds:\n%s", args[0], args[1], b)
}
