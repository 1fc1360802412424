package model

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// A crop model records its padding in config.json; any other model's
// config.json has no crop_padding key, so its bytes (and digest) are what
// they were before the field existed.
func TestCropPaddingInConfig(t *testing.T) {
	st, err := cache.Open(filepath.Join(t.TempDir(), "store"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	configJSON := func(pad float64) ([]byte, *Artifact) {
		t.Helper()
		c := testConfig(false)
		c.CropPadding = pad
		a := &Artifact{Config: *c, Weights: Init(c, 1), Metrics: Metrics{BestEpoch: 1, Epochs: []Epoch{{Epoch: 1}}}}
		tree, err := a.Save(st)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := st.ReadTree(tree)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name == ConfigFile {
				raw, err := st.ReadBlob(e.Digest)
				if err != nil {
					t.Fatal(err)
				}
				back, err := Load(st, tree)
				if err != nil {
					t.Fatal(err)
				}
				return raw, back
			}
		}
		t.Fatal("no config.json")
		return nil, nil
	}
	plain, back := configJSON(0)
	if bytes.Contains(plain, []byte("crop_padding")) || back.Config.CropPadding != 0 {
		t.Errorf("a model that is not a crop model mentions crop_padding:\n%s", plain)
	}
	// The config of a plain model, as written before the field existed.
	const before = `"foreground": [
      "person"
    ]
  },`
	if !strings.Contains(string(plain), before) {
		t.Errorf("config.json changed around the new field:\n%s", plain)
	}
	crop, back := configJSON(0.1)
	if !bytes.Contains(crop, []byte(`"crop_padding": 0.1`)) || back.Config.CropPadding != 0.1 {
		t.Errorf("crop model: CropPadding %v after loading, config.json:\n%s", back.Config.CropPadding, crop)
	}
	c := testConfig(false)
	c.CropPadding = -0.1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "crop_padding is -0.1") {
		t.Errorf("negative crop padding: %v", err)
	}
}
