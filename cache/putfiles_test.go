package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PutFiles gives the tree PutDir gives of the same files and directories
// (kept empty directories, an executable, nesting), without reading them;
// bad paths are errors.
func TestPutFilesMatchesPutDir(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		path, data string
		exec       bool
	}{
		{"a.json", "{}\n", false},
		{"img/x/1.jpg", "one", false},
		{"img/x/2.jpg", "two two", false},
		{"img/y.png", "three", false},
		{"run.sh", "#!/bin/sh\n", true},
	}
	dirs := []string{"empty", "img/x", "deep/er/est"}
	root := t.TempDir()
	var tf []TreeFile
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(f.data), mode); err != nil {
			t.Fatal(err)
		}
		d, err := s.PutBytes([]byte(f.data))
		if err != nil {
			t.Fatal(err)
		}
		tf = append(tf, TreeFile{Path: f.path, Digest: d, Size: int64(len(f.data)), Exec: f.exec})
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want, _, err := s.PutDir(context.Background(), root, IngestOptions{KeepEmptyDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PutFiles(tf, dirs)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("PutFiles %s, PutDir %s", got.Short(), want.Short())
	}
	if empty, err := s.PutFiles(nil, nil); err != nil || empty != EmptyTree {
		t.Errorf("no files: %s, %v; want the empty tree", empty.Short(), err)
	}

	d := tf[0].Digest
	for _, tc := range []struct {
		files []TreeFile
		dirs  []string
		want  string
	}{
		{[]TreeFile{{Path: "a", Digest: d}, {Path: "a", Digest: d}}, nil, `file "a" given twice`},
		{[]TreeFile{{Path: "a", Digest: d}, {Path: "a/b", Digest: d}}, nil, `"a" is both a file and a directory`},
		{[]TreeFile{{Path: "a", Digest: d}}, []string{"a"}, `"a" is both a file and a directory`},
		{[]TreeFile{{Path: "../a", Digest: d}}, nil, `path "../a"`},
		{[]TreeFile{{Path: "/a", Digest: d}}, nil, `"/a" is not a clean relative path`},
		{[]TreeFile{{Path: "a//b", Digest: d}}, nil, `"a//b" is not a clean relative path`},
		{nil, []string{""}, `"" is not a clean relative path`},
		{[]TreeFile{{Path: "a", Digest: d, Size: -1}}, nil, "negative size"},
	} {
		if _, err := s.PutFiles(tc.files, tc.dirs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want %q", tc.files, tc.dirs, err, tc.want)
		}
	}
}
