//go:build linux

package exec

import (
	"bytes"
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a stand-in for dsbuild running one exec
// step (see TestMain): the value is the shell script to run.
const helperEnv = "DSBUILD_EXEC_TEST_HELPER"

func TestMain(m *testing.M) {
	if code, ok := Supervise(os.Args[1:]); ok {
		os.Exit(code)
	}
	if script := os.Getenv(helperEnv); script != "" {
		var out bytes.Buffer
		res, err := runCommand(context.Background(), command{argv: []string{"sh", "-c", script}, dir: ".", env: os.Environ(), out: &out})
		if err != nil || res != (outcome{}) {
			os.Stderr.WriteString("helper: " + out.String())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// routesMu serializes withRoutes.
var routesMu sync.Mutex

// withRoutes turns supervision on or off for the test.
func withRoutes(t *testing.T, on bool) {
	t.Helper()
	routesMu.Lock()
	old := supervisorRoutes.Load()
	supervisorRoutes.Store(on)
	t.Cleanup(func() {
		supervisorRoutes.Store(old)
		routesMu.Unlock()
	})
}

// spawnScript starts, in the background of the command, a process that
// stays in the command's process group and one that leaves it (setsid),
// writes their pids to pids and then runs rest.
func spawnScript(pids, rest string) string {
	return "sleep 300 >/dev/null 2>&1 & a=$!; setsid sleep 300 >/dev/null 2>&1 & b=$!; " +
		"echo $a $b > " + pids + ".tmp && mv " + pids + ".tmp " + pids + "; " + rest
}

// readPids waits up to 30 s for the file of pids.
func readPids(t *testing.T, p string) []int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s: %q", p, b)
			}
			pids = append(pids, n)
		}
		return pids
	}
	t.Fatalf("%s did not appear", p)
	return nil
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// checkGone fails unless every pid has ended within limit; survivors are
// killed.
func checkGone(t *testing.T, pids []int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, p := range pids {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			t.Errorf("process %d outlived its build", p)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

func TestOutcomes(t *testing.T) {
	for _, supervised := range []bool{true, false} {
		t.Run("supervised="+strconv.FormatBool(supervised), func(t *testing.T) {
			withRoutes(t, supervised)
			run := func(argv ...string) (outcome, string, error) {
				var out bytes.Buffer
				res, err := runCommand(context.Background(), command{argv: argv, dir: t.TempDir(), env: []string{"PATH=" + DefaultPATH, "X=from-env"}, out: &out})
				return res, out.String(), err
			}
			if res, out, err := run("sh", "-c", "echo out $X; echo err >&2; pwd; exit 7"); err != nil || res != (outcome{code: 7}) || !strings.Contains(out, "out from-env\nerr\n") {
				t.Errorf("exit 7: %+v, %q, %v", res, out, err)
			}
			if res, _, err := run("sh", "-c", "kill -KILL $$"); err != nil || res != (outcome{signal: "killed"}) {
				t.Errorf("killed: %+v, %v", res, err)
			}
			if res, _, err := run("true"); err != nil || res != (outcome{}) {
				t.Errorf("true: %+v, %v", res, err)
			}
			if _, _, err := run("no-such-program-dsbuild"); err == nil || !strings.Contains(err.Error(), "executable file not found") {
				t.Errorf("missing program: %v", err)
			}
			if _, _, err := run("./no-such-script"); err == nil || !strings.Contains(err.Error(), "no such file") {
				t.Errorf("missing script: %v", err)
			}
		})
	}
}

// The working directory is the command's directory, and a relative
// program path is resolved there.
func TestRelativeProgram(t *testing.T) {
	for _, supervised := range []bool{true, false} {
		t.Run("supervised="+strconv.FormatBool(supervised), func(t *testing.T) { testRelativeProgram(t, supervised) })
	}
}

func testRelativeProgram(t *testing.T, supervised bool) {
	withRoutes(t, supervised)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho here > mark\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := runCommand(context.Background(), command{argv: []string{"./run.sh"}, dir: dir, env: []string{"PATH=" + DefaultPATH}, out: &bytes.Buffer{}})
	if err != nil || res != (outcome{}) {
		t.Fatalf("%+v, %v", res, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "mark")); err != nil || string(b) != "here\n" {
		t.Errorf("mark = %q, %v", b, err)
	}
}

// Processes the command leaves behind when it exits are killed before
// runCommand returns, in its group or not.
func TestLeftoversKilledOnExit(t *testing.T) {
	withRoutes(t, true)
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	res, err := runCommand(context.Background(), command{argv: []string{"sh", "-c", spawnScript(pids, "exit 0")}, dir: dir, env: []string{"PATH=" + DefaultPATH}, out: &bytes.Buffer{}})
	if err != nil || res != (outcome{}) {
		t.Fatalf("%+v, %v", res, err)
	}
	checkGone(t, readPids(t, pids), 0)
}

// Cancelling the step (Ctrl-C) kills the whole tree, including a process
// that left the command's process group.
func TestTreeKilledOnCancel(t *testing.T) {
	withRoutes(t, true)
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runCommand(ctx, command{argv: []string{"sh", "-c", spawnScript(pids, "wait")}, dir: dir, env: []string{"PATH=" + DefaultPATH}, out: &bytes.Buffer{}})
		done <- err
	}()
	ps := readPids(t, pids)
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("runCommand did not return after cancellation")
	}
	checkGone(t, ps, 0)
}

// SIGKILL of the process running the step (dsbuild; here the test binary
// as a helper) kills the command's whole tree within seconds.
func TestTreeKilledWithParent(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	helper := osexec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+spawnScript(pids, "wait"))
	helper.Dir = dir
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	ps := readPids(t, pids)
	for _, p := range ps {
		if !alive(p) {
			t.Fatalf("process %d is not running before the kill", p)
		}
	}
	helper.Process.Kill()
	helper.Wait()
	checkGone(t, ps, 5*time.Second)
}
