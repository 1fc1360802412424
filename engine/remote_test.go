package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/engine"
)

func TestRemoteBlock(t *testing.T) {
	r, diags := loadOps(t, `
remote {
  url     = "s3://team/dsbuild"
  upload  = false
  ca_file = "certs/ca.pem"
}
ops "a" {}
`)
	if diags != "" {
		t.Fatal(diags)
	}
	rc := r.Remote
	if rc == nil {
		t.Fatal("Recipe.Remote is nil")
	}
	if rc.URL != "s3://team/dsbuild" || rc.Upload || rc.CAFile != filepath.Join(r.Dir, "certs", "ca.pem") {
		t.Errorf("got %+v", *rc)
	}
	if rc.Range.Start.Line != 2 {
		t.Errorf("range %v, want line 2", rc.Range)
	}
	// The remote is not a step and not part of any key.
	if len(r.Steps) != 1 {
		t.Errorf("%d steps", len(r.Steps))
	}

	r, diags = loadOps(t, "remote {\n  url = \"grpc://cache:9092\"\n}\nops \"a\" {}\n")
	if diags != "" || r.Remote == nil || !r.Remote.Upload {
		t.Errorf("upload defaults to true: %+v %s", r.Remote, diags)
	}
	r, diags = loadOps(t, "ops \"a\" {}\n")
	if diags != "" || r.Remote != nil {
		t.Errorf("no block: %+v %s", r.Remote, diags)
	}
}

func TestRemoteBlockErrors(t *testing.T) {
	for _, tc := range []struct{ hcl, want string }{
		{"remote {\n  url = \"s3://a/b\"\n}\nremote {\n  url = \"s3://c/d\"\n}\n", "Duplicate remote block: A recipe names one remote; the first is at"},
		{"remote \"x\" {\n  url = \"s3://a/b\"\n}\n", "Wrong number of labels: A remote block is written `remote { ... }`"},
		{"remote {\n  upload = false\n}\n", "Missing remote url"},
		{"remote {\n  url = \"\"\n}\n", "Empty remote url"},
		{"remote {\n  url = 3\n}\n", "Invalid remote url: remote's url is a string."},
		{"remote {\n  url = \"s3://a/b\"\n  upload = \"no\"\n}\n", "Invalid remote upload: remote's upload is a bool."},
		{"remote {\n  url = \"s3://a/b\"\n  token = \"s3cr3t\"\n}\n", "Credentials never go into a recipe"},
		{"remote {\n  url = \"s3://a/b\"\n  headers = {}\n}\n", "Credentials never go into a recipe"},
		{"remote {\n  url = \"s3://a/b\"\n  uplod = true\n}\n", `Did you mean "upload"?`},
		{"remote {\n  url = \"grpcs://me:pw@cache:443\"\n}\n", "Credentials in the remote url"},
		{"variable \"u\" {\n  default = \"s3://a/b\"\n}\nremote {\n  url = var.u\n}\n", "The remote block's values are literals"},
		{"remote {\n  url = \"s3://a/b\"\n  x {}\n}\n", "Unexpected block in remote"},
	} {
		_, diags := loadOps(t, tc.hcl+"ops \"a\" {}\n")
		if !strings.Contains(diags, tc.want) {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.hcl, diags, tc.want)
		}
	}
}

// LoadRemote reads the block without evaluating the recipe: a recipe
// whose steps do not load (an unknown kind, a required variable) still
// names its remote.
func TestLoadRemoteAlone(t *testing.T) {
	dir := t.TempDir()
	src := "variable \"need\" {}\nnosuchkind \"x\" {}\nremote {\n  url = \"grpcs://cache.example:443/main\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, diags, _ := engine.LoadRemote(dir)
	if diags.HasErrors() || rc == nil || rc.URL != "grpcs://cache.example:443/main" || !rc.Upload {
		t.Fatalf("LoadRemote: %+v %v", rc, diags)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("remote {\n  password = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, diags, _ = engine.LoadRemote(dir)
	if !diags.HasErrors() || rc != nil {
		t.Fatalf("a bad block loaded: %+v %v", rc, diags)
	}
}

// Any step may name its queue for distributed builds; it is not part of
// the key (where a step runs never changes what it computes).
func TestQueueAttribute(t *testing.T) {
	r, diags := loadOps(t, "ops \"a\" {\n  queue = \"gpu-h100\"\n}\nops \"b\" {}\n")
	if diags != "" {
		t.Fatal(diags)
	}
	if q := r.Step("ops.a").Queue; q != "gpu-h100" {
		t.Errorf("queue %q", q)
	}
	if q := r.Step("ops.b").Queue; q != "" {
		t.Errorf("unset queue %q", q)
	}
	pa, err := engine.Preimage(r.Step("ops.a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := engine.Preimage(r.Step("ops.b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pa, "\n") != strings.Join(pb, "\n") {
		t.Errorf("the queue entered the key:\n%s\n---\n%s", strings.Join(pa, "\n"), strings.Join(pb, "\n"))
	}
	if _, diags := loadOps(t, "ops \"a\" {\n  queue = \"GPU!\"\n}\n"); !strings.Contains(diags, "Invalid queue") {
		t.Errorf("a bad queue name: %s", diags)
	}
}
