package gemm

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, ok := range []string{"", "auto", "gonum", "openblas", "openblas:Haswell", "openblas:Haswell, gonum", " openblas:SkylakeX ,openblas,gonum"} {
		if err := ParseSpec(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for spec, want := range map[string]string{
		"mkl":                `unknown choice "mkl"`,
		"openblas:Pentium4":  `unknown OpenBLAS kernel "Pentium4"; use one of Cooperlake, Haswell, Sandybridge, SkylakeX, Zen`,
		"openblas:haswell":   `unknown OpenBLAS kernel "haswell"`,
		"gonum,,auto":        "an empty choice",
		"gonum:x":            `unknown choice "gonum:x"`,
		"openblas:Haswell,x": `unknown choice "x"`,
	} {
		err := ParseSpec(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v; want it to say %q", spec, err, want)
		}
	}
}

func TestSelectGonum(t *testing.T) {
	b, err := Select("gonum")
	if err != nil || b.Name() != Gonum().Name() {
		t.Fatalf("gonum: %v, %v", b, err)
	}
}

// The kernel tests load OpenBLAS, which happens once per process: each
// runs in a child process (this test binary again) with its own
// environment.
const childEnv = "DSBUILD_GEMM_TEST_CHILD"

func TestSelectChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("run by the kernel tests in a child process")
	}
	for _, s := range strings.Split(spec, ";") {
		// "why:SPEC" also reports the choices passed over.
		w, why := strings.CutPrefix(s, "why:")
		b, passed, err := SelectWhy(w)
		suffix := ""
		if why {
			suffix = fmt.Sprintf(" (passed over: %q)", passed)
		}
		if err != nil {
			t.Logf("RESULT %s => error: %v%s", s, err, suffix)
			continue
		}
		t.Logf("RESULT %s => %s%s", s, b.Name(), suffix)
	}
	t.Logf("RESULT env OPENBLAS_CORETYPE=%q", os.Getenv("OPENBLAS_CORETYPE"))
}

// runChild runs the specs in a child whose environment is env (not this
// process's) and returns its RESULT lines.
func runChild(t *testing.T, env []string, specs ...string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSelectChild$", "-test.v")
	cmd.Env = append(env, childEnv+"="+strings.Join(specs, ";"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var res []string
	for _, l := range strings.Split(string(out), "\n") {
		if _, r, ok := strings.Cut(l, "RESULT "); ok {
			res = append(res, r)
		}
	}
	return res
}

func needKernel(t *testing.T, k string) {
	t.Helper()
	if _, err := loadOpenBLAS(openBLASLibs); err != nil {
		t.Skipf("no OpenBLAS: %v", err)
	}
	if !Kernels[k]() {
		t.Skipf("this CPU cannot run OpenBLAS's %s kernel", k)
	}
}

// A pinned kernel wins over the environment's OPENBLAS_CORETYPE, which
// is restored after the library loads; a second, different pin in the
// same process is refused, and the next choice of its spec is taken.
func TestSelectPinnedKernel(t *testing.T) {
	needKernel(t, "Haswell")
	needKernel(t, "Sandybridge")
	res := runChild(t, append(envWithout("OPENBLAS_CORETYPE"), "OPENBLAS_CORETYPE=Sandybridge"),
		"openblas:Haswell", "openblas:Sandybridge", "openblas:Sandybridge, gonum", "openblas", "auto")
	if len(res) != 6 {
		t.Fatalf("results %q", res)
	}
	if !strings.HasPrefix(res[0], "openblas:Haswell => openblas ") || !strings.HasSuffix(res[0], " Haswell threads 1") {
		t.Errorf("pinned: %s", res[0])
	}
	if !strings.Contains(res[1], "error:") || !strings.Contains(res[1], "loaded in this process with the Haswell kernel") {
		t.Errorf("second pin: %s", res[1])
	}
	if !strings.HasSuffix(res[2], "=> "+Gonum().Name()) {
		t.Errorf("fallback: %s", res[2])
	}
	for _, r := range res[3:5] {
		if !strings.HasSuffix(r, " Haswell threads 1") {
			t.Errorf("unpinned after a pin: %s", r)
		}
	}
	if res[5] != `env OPENBLAS_CORETYPE="Sandybridge"` {
		t.Errorf("environment not restored: %s", res[5])
	}
}

// SelectWhy says why it passed over each choice before the one it took,
// and nothing when the first was available.
func TestSelectWhy(t *testing.T) {
	needKernel(t, "Haswell")
	needKernel(t, "Sandybridge")
	res := runChild(t, envWithout("OPENBLAS_CORETYPE"),
		"why:openblas:Haswell, gonum", "why:openblas:Sandybridge, openblas:Haswell", "why:openblas:Sandybridge, gonum", "why:openblas:Sandybridge")
	if len(res) != 5 {
		t.Fatalf("results %q", res)
	}
	const pin = `["openblas:Sandybridge: OpenBLAS is loaded in this process with the Haswell kernel, and it loads once: use one gemm choice in every train step"]`
	for i, want := range []string{
		" Haswell threads 1 (passed over: [])",
		" Haswell threads 1 (passed over: " + pin + ")",
		"=> " + Gonum().Name() + " (passed over: " + pin + ")",
		"(passed over: " + pin + ")",
	} {
		if !strings.HasSuffix(res[i], want) {
			t.Errorf("result %d: %s\nwant it to end with %s", i, res[i], want)
		}
	}
	if !strings.Contains(res[3], `=> error: gemm "openblas:Sandybridge": nothing available`) {
		t.Errorf("nothing available: %s", res[3])
	}
}

// envWithout is this process's environment less the variable name.
func envWithout(name string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, name+"=") {
			env = append(env, e)
		}
	}
	return env
}

// Without the variable, the pin still decides the kernel, and the
// variable stays unset.
func TestSelectPinnedKernelNoEnv(t *testing.T) {
	needKernel(t, "Sandybridge")
	res := runChild(t, envWithout("OPENBLAS_CORETYPE"), "openblas:Sandybridge")
	if len(res) != 2 || !strings.HasPrefix(res[0], "openblas:Sandybridge => openblas ") || !strings.HasSuffix(res[0], " Sandybridge threads 1") {
		t.Errorf("pinned without the variable: %q", res)
	}
	if len(res) == 2 && res[1] != `env OPENBLAS_CORETYPE=""` {
		t.Errorf("variable left set: %s", res[1])
	}
}
