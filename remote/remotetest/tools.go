package remotetest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// EnvToolsBin names the directory that holds the server binaries; CI sets
// it to <repo>/bin after running tools/build.sh.
const EnvToolsBin = "DSBUILD_TOOLS_BIN"

// FindTool returns the path of the server binary name (versitygw,
// bazel-remote): $DSBUILD_TOOLS_BIN/<name> if that is an executable file,
// else <repo root>/bin/<name>, where tools/build.sh puts it. The repository
// root is the nearest directory above this package's source, or above the
// working directory, whose go.mod declares `module dsbuild`.
func FindTool(name string) (path string, ok bool) {
	if dir := os.Getenv(EnvToolsBin); dir != "" {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, true
		}
	}
	if root, ok := repoRoot(); ok {
		if p := filepath.Join(root, "bin", name); isExecutable(p) {
			return p, true
		}
	}
	return "", false
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// repoRoot finds dsbuild's module root, first from this file's directory
// (known when the test binary was built from a source tree), then from the
// working directory (go test runs a package's tests in its directory).
func repoRoot() (string, bool) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if isDsbuildModule(filepath.Join(dir, "go.mod")) {
				return dir, true
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", false
}

// isDsbuildModule reports whether the go.mod at p declares the module
// dsbuild itself (not the tools module, dsbuild/tools).
func isDsbuildModule(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == "dsbuild"
		}
	}
	return false
}

// skipMissing reports whether a test may skip when a server binary is
// missing: not in CI, and not when DSBUILD_TOOLS_BIN says where the
// binaries are.
func skipMissing() bool {
	return os.Getenv("CI") == "" && os.Getenv(EnvToolsBin) == ""
}

// RequireTool returns the path of tool name (FindTool), or ends the test:
// a skip naming tools/build.sh on a developer's machine, a failure in CI
// or when DSBUILD_TOOLS_BIN is set.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if p, ok := FindTool(name); ok {
		return p
	}
	msg := name + " not found in $" + EnvToolsBin + " or <repo>/bin: build the test servers with `bash tools/build.sh`"
	if skipMissing() {
		t.Skip(msg)
	}
	t.Fatal(msg + " (CI or " + EnvToolsBin + " is set: a missing server fails instead of skipping)")
	return ""
}
