// Package train is the train step kind: a UNet segmentation model trained
// on a dataset (package model/train), optionally continuing
// from a previous model, and stored as a model artifact (package model).
//
//	train "person" {
//	  data       = split.people.train
//	  validation = split.people.val
//	  from       = train.round0        # optional: continue from this model
//	  foreground = ["person"]
//	  ignore     = ["neutral"]
//	  input_size = 64
//	  epochs     = 8
//	}
//
// A crop model, for preannotate's mode = "boxes", trains on the crops of
// a transform's instances_crop and records their padding:
//
//	transform "crops" {
//	  from = [import.people]
//	  instances_crop {
//	    classes = ["person"]
//	    pad     = "10%"             # of each box's width and height
//	  }
//	}
//	train "crop" {
//	  data         = transform.crops
//	  resize       = true           # crops come in all sizes
//	  crop_padding = 0.1            # = pad, as a fraction
//	}
//
// The micro-batch (micro_batch = 0) is the largest divisor of batch
// within the memory bound; an explicit one must divide batch.
//
// The same inputs and parameters give the same weights to the bit on a
// given platform; the platform (GOARCH, GOAMD64) is part of the key.
//
// # Your own trainer: command
//
// With command, the step runs the user's trainer instead of the built-in
// UNet, as an exec step runs its command (package exec: a scratch
// directory of its own, only the allow-listed env variables, whose values
// are in the key, no process left behind), and stores the model it writes:
//
//	train "m" {
//	  command     = ["sh", "inputs/code/train.sh", "--epochs", "3"]
//	  inputs      = { code = files.trainer }
//	  data        = split.people.train
//	  validation  = split.people.val     # optional
//	  from        = train.previous       # optional
//	  data_format = "coco"               # "supervisely" (default), "coco" or "masks"
//	  env         = ["OMP_NUM_THREADS"]
//	}
//
// The command runs in the scratch directory, which holds, read-only:
//
//	inputs/data/        the training set, exported in data_format as an
//	                    export step writes it: supervisely's meta.json and
//	                    <dataset>/img/, <dataset>/ann/; coco's
//	                    annotations/instances_<dataset>.json and
//	                    <dataset>/<images>; masks' classes.json,
//	                    <dataset>/<item>.png and <dataset>/images/
//	inputs/validation/  the validation set, likewise (with validation)
//	inputs/from/        the model to continue from, as stored (with from;
//	                    any model that keeps the contract)
//	inputs/<name>/      each entry of inputs (data, validation and from are
//	                    reserved names)
//
// and .tmp/, its TMPDIR and HOME's neighbour (HOME is the scratch
// directory). It must create the directory model/ that keeps the model
// artifact contract (docs/model.md: config.json declaring its "format",
// weight files, optionally metrics.json); model/ is checked
// (model.InspectDir) before it is stored as the output model, and a
// command that exits non-zero, or whose model/ breaks the contract, stores
// nothing. Its error says how the command ended and ends with the last
// lines it printed.
//
// A line the command prints (on stdout or stderr) of the form
//
//	dsbuild:progress epoch=3/30 loss=0.41 val_iou=0.62
//
// drives the step's progress bar (epoch=a/b, else step=a/b) and is a
// --json progress event whose fields are the line's (epoch 3, epochs 30,
// loss 0.41, …; exec.ParseProgress).
//
// A step with a command takes its parameters in command: the built-in
// trainer's (input_size, epochs, …) are errors there, and data_format,
// env and inputs are errors without a command. Such a step may declare
// deterministic = false, as an exec step may; the built-in trainer cannot.
// The built-in trainer continues only from dsbuild-model/1 models; a step
// with a command from any model.
package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/model/annotate"
	"dsbuild/model/gemm"
	mtrain "dsbuild/model/train"
)

// Kind is the train step kind.
type Kind struct{}

func (Kind) Name() string            { return "train" }
func (Kind) Version() int            { return 2 }
func (Kind) PlatformDependent() bool { return true }

func num(v float64) cty.Value { return cty.NumberFloatVal(v) }

func (Kind) Schema() *engine.Schema {
	return &engine.Schema{
		Doc: "Trains a UNet segmentation model (BCE + dice loss, Adam) on a dataset; the output is a model artifact.",
		Attrs: []engine.AttrSpec{
			{Name: "data", Kind: engine.InputOne, Required: true, Doc: "the training dataset"},
			{Name: "validation", Kind: engine.InputOne, Doc: "a validation dataset: IoU, dice and pixel accuracy per epoch; the best epoch by IoU is kept"},
			{Name: "from", Kind: engine.InputOne, Doc: "a model to continue from (same depth, width and batch_norm)"},
			{Name: "foreground", Type: cty.List(cty.String), Default: cty.ListVal([]cty.Value{cty.StringVal("person")}), Doc: "classes the model segments"},
			{Name: "ignore", Type: cty.List(cty.String), Default: cty.ListValEmpty(cty.String), Doc: "classes whose pixels the loss and metrics skip (the seed's neutral)"},
			{Name: "depth", Type: cty.Number, Int: true, Default: num(3), Doc: "encoder levels"},
			{Name: "width", Type: cty.Number, Int: true, Default: num(8), Doc: "channels of the first level; doubling per level"},
			{Name: "batch_norm", Type: cty.Bool, Default: cty.False, Doc: "BatchNorm after each convolution instead of a bias"},
			{Name: "input_size", Type: cty.Number, Int: true, Default: num(256), Doc: "the network's square input side, a multiple of 2^depth"},
			{Name: "resize", Type: cty.Bool, Default: cty.False, Doc: "resize every image to input_size; without it every image must be input_size square"},
			{Name: "batch", Type: cty.Number, Int: true, Default: num(8), Doc: "samples per optimizer step"},
			{Name: "micro_batch", Type: cty.Number, Int: true, Default: num(0), Doc: "samples per forward pass, dividing batch (0: chosen from input_size to bound memory)"},
			{Name: "epochs", Type: cty.Number, Int: true, Default: num(10), Doc: "passes over the training set"},
			{Name: "steps", Type: cty.Number, Int: true, Default: num(0), Doc: "if > 0, stop after this many optimizer steps instead"},
			{Name: "learning_rate", Type: cty.Number, Default: num(1e-3), Doc: "Adam's learning rate (the peak rate under lr_schedule)"},
			// No default: absent, it stays out of the key, so the models of
			// recipes written before it keep their keys.
			{Name: "keep", Type: cty.String, Doc: `which epoch's weights the model keeps: "best" (unset: the same; the best validation IoU, else the lowest training loss) or "last" (the last epoch's, as with lr_schedule = "cosine" when the validation set is not the domain the model is for)`},
			{Name: "lr_schedule", Type: cty.String, Doc: `how the learning rate moves over the run's steps: "constant" (unset: the same) or "cosine" (from learning_rate down along a half cosine towards 0 at the last step, PyTorch's CosineAnnealingLR stepped every step); each round of a bootstrap restarts it`},
			{Name: "bce", Type: cty.Number, Default: num(1), Doc: "weight of binary cross-entropy in the loss"},
			{Name: "dice", Type: cty.Number, Default: num(1), Doc: "weight of (1 − dice) in the loss"},
			{Name: "flip", Type: cty.Bool, Default: cty.True, Doc: "mirror samples left-right at random"},
			{Name: "random_crop", Type: cty.Number, Default: num(0), Doc: "0: none; else crop a random window of side random_crop…1 of the image"},
			{Name: "rotate", Type: cty.Number, Default: num(0), Doc: "maximum random rotation, degrees"},
			{Name: "color", Type: cty.Number, Default: num(0), Doc: "maximum random brightness and contrast change (0.2 = ±20 %)"},
			{Name: "edge_band", Type: cty.Number, Int: true, Default: num(0), Doc: "width in pixels of the band along object edges that weighs more in the loss"},
			{Name: "edge_weight", Type: cty.Number, Default: num(1), Doc: "extra loss weight of edge-band pixels"},
			{Name: "seed", Type: cty.String, Default: cty.StringVal(""), Doc: "seeds the initial weights, batches and augmentation"},
			{Name: "crop_padding", Type: cty.Number, Doc: `makes a crop model for preannotate's mode = "boxes": the padding, in whole percent of a box's width (left, right) and height (top, bottom), with which instances_crop cut the training images (0.1 for pad = "10%"); recorded in the model, and stage 2 pads its boxes by it. Unset or 0: not a crop model`},
			{Name: "gemm", Type: cty.String, Default: cty.StringVal("auto"), NotInKey: true, Doc: `the matrix products' arithmetic, which decides the weights' bits: "auto" (OpenBLAS with the kernel it picks for this CPU, else gonum), "gonum" (pure Go, the same on every amd64), "openblas", or "openblas:KERNEL" (e.g. "openblas:Haswell": the same bits on every CPU that can run the kernel); a comma-separated list takes the first available. Not in the key itself: the backend it selects is`},
			{Name: "memory_limit", Type: cty.Number, Int: true, Default: num(1536), NotInKey: true, Doc: "soft limit on the heap while training, MiB (0: none); the collector works harder near it; results do not change"},
			// Command mode. No defaults: absent, they stay out of the key
			// of a built-in step.
			{Name: "command", Type: cty.List(cty.String), Doc: "your own trainer instead of the built-in UNet: program and arguments, run like exec's in a scratch directory with the training set exported to inputs/data/ (validation to inputs/validation/, the from model at inputs/from/); it writes the model into model/ (docs/model.md's contract)"},
			{Name: "inputs", Kind: engine.InputMap, Doc: "with command: map of names to step outputs (the trainer's code, say), materialized read-only at inputs/<name>/"},
			{Name: "data_format", Type: cty.String, Doc: `with command: the format data and validation are exported in, "supervisely" (the default), "coco" or "masks"`},
			{Name: "env", Type: cty.List(cty.String), Doc: "with command: environment variables passed through (their values enter the key)"},
		},
		Outputs: []string{"model"},
	}
}

// params are the step's parameters, decoded and checked when the recipe
// loads (Decode). Run works on a copy: the decoded value is shared.
type params struct {
	opts       mtrain.Options
	cfg        model.Config
	resize     bool
	edgeBand   int
	seedString string
	gemm       string // the gemm attribute's spec
	// command is set in command mode: the step runs the user's trainer,
	// and the fields above are unused.
	command *commandSettings
}

// Seed turns a recipe's seed string into the generator seed.
func Seed(s string) uint64 {
	h := sha256.Sum256([]byte("dsbuild train seed v1\n" + s))
	return binary.BigEndian.Uint64(h[:8])
}

type paramErr struct {
	attr string
	msg  string
}

func decode(cfg *engine.Config) (*params, []paramErr) {
	var errs []paramErr
	bad := func(attr, format string, args ...any) {
		errs = append(errs, paramErr{attr, fmt.Sprintf(format, args...)})
	}
	p := &params{resize: cfg.Bool("resize"), edgeBand: int(cfg.Int("edge_band")), seedString: cfg.String("seed"), gemm: cfg.String("gemm")}
	p.cfg = model.Config{Arch: "unet", Depth: int(cfg.Int("depth")), Width: int(cfg.Int("width")),
		BatchNorm: cfg.Bool("batch_norm"), InputSize: int(cfg.Int("input_size")), InChannels: 3,
		Foreground: cfg.StringList("foreground"), Ignore: cfg.StringList("ignore"), CropPadding: cfg.Float("crop_padding")}
	if err := p.cfg.Validate(); err != nil {
		attr := "depth"
		switch {
		case strings.HasPrefix(err.Error(), "width"):
			attr = "width"
		case strings.HasPrefix(err.Error(), "input_size"):
			attr = "input_size"
		case strings.HasPrefix(err.Error(), "no foreground"):
			attr = "foreground"
		case strings.HasPrefix(err.Error(), "crop_padding"):
			attr = "crop_padding"
		}
		bad(attr, "%v", err)
	} else if _, err := annotate.PaddingPercent(p.cfg.CropPadding); err != nil {
		bad("crop_padding", "crop_%v", err)
	}
	for _, c := range p.cfg.Ignore {
		for _, f := range p.cfg.Foreground {
			if c == f {
				bad("ignore", "class %q is both foreground and ignored", c)
			}
		}
	}
	o := mtrain.Options{Config: &p.cfg, Batch: int(cfg.Int("batch")), MicroBatch: int(cfg.Int("micro_batch")),
		Epochs: int(cfg.Int("epochs")), Steps: int(cfg.Int("steps")), LR: cfg.Float("learning_rate"), Schedule: cfg.String("lr_schedule"),
		KeepLast: cfg.String("keep") == "last",
		WBCE:     cfg.Float("bce"), WDice: cfg.Float("dice"), EdgeWeight: cfg.Float("edge_weight"),
		Augment: mtrain.Augment{Flip: cfg.Bool("flip"), Crop: cfg.Float("random_crop"),
			Rotate: cfg.Float("rotate"), Color: cfg.Float("color")},
		Seed: Seed(p.seedString), MemoryLimit: int64(int(cfg.Int("memory_limit"))) << 20}
	switch {
	case o.Batch < 1 || o.Batch > 1024:
		bad("batch", "batch is %d; it must be 1 to 1024", o.Batch)
	case o.MicroBatch < 0 || o.MicroBatch > 0 && o.Batch%o.MicroBatch != 0:
		bad("micro_batch", "micro_batch is %d; it must be 0 (chosen from input_size) or divide batch %d: %s", o.MicroBatch, o.Batch, divisors(o.Batch))
	}
	if o.Epochs < 0 || o.Steps < 0 || o.Epochs == 0 && o.Steps == 0 {
		bad("epochs", "epochs is %d and steps %d; set one of them above 0", o.Epochs, o.Steps)
	}
	if !(o.LR > 0 && o.LR < 1) {
		bad("learning_rate", "learning_rate is %v; it must be in (0, 1)", o.LR)
	}
	if k := cfg.String("keep"); k != "" && k != "best" && k != "last" {
		bad("keep", "keep is %q; use \"best\" or \"last\"", k)
	}
	if o.Schedule != "" && !slices.Contains(mtrain.Schedules(), o.Schedule) {
		bad("lr_schedule", "lr_schedule is %q; use %s", o.Schedule, quotedList(mtrain.Schedules()))
	}
	if o.WBCE < 0 || o.WDice < 0 || o.WBCE+o.WDice == 0 {
		bad("bce", "loss weights bce %v and dice %v must be ≥ 0 and not both 0", o.WBCE, o.WDice)
	}
	if o.Augment.Crop < 0 || o.Augment.Crop >= 1 {
		bad("random_crop", "random_crop is %v; use 0 (none) or a fraction in (0, 1)", o.Augment.Crop)
	}
	if o.Augment.Rotate < 0 || o.Augment.Rotate > 180 {
		bad("rotate", "rotate is %v degrees; it must be 0 to 180", o.Augment.Rotate)
	}
	if o.Augment.Color < 0 || o.Augment.Color > 1 {
		bad("color", "color is %v; it must be 0 to 1", o.Augment.Color)
	}
	if err := gemm.ParseSpec(p.gemm); err != nil {
		bad("gemm", "%v", err)
	}
	if p.edgeBand < 0 || p.edgeBand > 64 {
		bad("edge_band", "edge_band is %d pixels; it must be 0 to 64", p.edgeBand)
	}
	if o.MemoryLimit < 0 {
		bad("memory_limit", "memory_limit is %d MiB; use 0 (none) or a positive size", o.MemoryLimit>>20)
	}
	if o.EdgeWeight < 0 {
		bad("edge_weight", "edge_weight is %v; it must be ≥ 0", o.EdgeWeight)
	}
	p.opts = o
	return p, errs
}

// divisors lists the divisors of n ≥ 1, "1, 2, 4 or 8".
func divisors(n int) string {
	var ds []string
	for d := 1; d <= n; d++ {
		if n%d == 0 {
			ds = append(ds, strconv.Itoa(d))
		}
	}
	return orList(ds)
}

// orList writes "a, b or c" ("a" for one).
func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// gonumHint tells how to get OpenBLAS back when training fell back to
// gonum.
func gonumHint(g gemm.Backend) string {
	if strings.HasPrefix(g.Name(), "gonum") {
		return ", and gonum trains several times slower: install Debian's libopenblas0-pthread (or name a library with " + gemm.LibEnv + ")"
	}
	return ""
}

// KeyLines puts the micro-batch actually used in the key: with
// micro_batch = 0 it is derived from the batch and input size, and it
// changes the float summation order. So does the matrix-product backend
// (OpenBLAS with its version and CPU kernel, or gonum) that the gemm
// attribute selects on this machine: a model trained with another is
// another artifact. So does the image decoder, whose pixels it trains on.
//
// A step with a command has none of those: its key holds the values of its
// allow-listed variables and the export that writes its data (keyLines).
func (Kind) KeyLines(cfg *engine.Config) []string {
	p := engine.Decoded[*params](cfg)
	if p.command != nil {
		return p.command.keyLines()
	}
	g := "unavailable"
	if b, err := gemm.Select(p.gemm); err == nil {
		g = b.Name()
	}
	return []string{fmt.Sprintf("micro_batch_used %d", p.opts.UsedMicroBatch()), "gemm " + g, dataset.ImageDecoder}
}

// Decode reads the model configuration and the training options and
// checks them, each error on its attribute (engine.Decoder).
//
// A step with a command is decoded by decodeCommand; without one, the
// command mode's attributes (and deterministic) are errors.
func (Kind) Decode(cfg *engine.Config) (any, hcl.Diagnostics) {
	if cfg.Has("command") {
		return decodeCommand(cfg)
	}
	diags := commandOnly(cfg)
	p, errs := decode(cfg)
	for _, e := range errs {
		r := cfg.Range(e.attr)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + e.attr, Detail: e.msg + ".", Subject: &r})
	}
	return p, diags
}

// Commander: a train step with a command may declare deterministic =
// false (Decode refuses it on the built-in trainer, which is
// deterministic).
func (Kind) Commander() {}

func (Kind) Run(ctx context.Context, rc *engine.RunContext) (map[string]cache.Digest, error) {
	if set := engine.Decoded[*params](rc.Config).command; set != nil {
		return runCommand(ctx, rc, set)
	}
	p := *engine.Decoded[*params](rc.Config)
	p.opts.Config = &p.cfg
	ds, err := dataset.Open(rc.Store, rc.Inputs["data"])
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	classes := map[string]bool{}
	var names []string
	for _, c := range ds.Meta.Classes {
		classes[c.Title] = true
		names = append(names, c.Title)
	}
	for _, list := range []struct {
		attr    string
		classes []string
	}{{"foreground", p.cfg.Foreground}, {"ignore", p.cfg.Ignore}} {
		for _, c := range list.classes {
			if !classes[c] {
				return nil, engine.Errorf(rc.Config.Range(list.attr), "class %q is not in the training set; its classes: %s%s", c, strings.Join(names, ", "), suggest(c, names))
			}
		}
	}
	g, passed, err := gemm.SelectWhy(p.gemm)
	if err != nil {
		return nil, engine.Errorf(rc.Config.Range("gemm"), "%v; install Debian's libopenblas0-pthread for OpenBLAS, or choose another gemm (\"gonum\" runs everywhere, with other bits)", err)
	}
	if len(passed) > 0 && rc.Logf != nil {
		// The model is right for this machine, and its key says which
		// arithmetic made it; but it is not the one the recipe's first
		// choice gives elsewhere (a lockfile made there, say).
		rc.Logf("gemm %q: training with %s, not the first choice (%s); its model differs from one trained with the first choice%s", p.gemm, g.Name(), strings.Join(passed, "; "), gonumHint(g))
	}
	p.opts.GEMM = g
	init := model.Init(&p.cfg, p.opts.Seed)
	if d, ok := rc.Inputs["from"]; ok {
		prev, err := model.Load(rc.Store, d)
		if err != nil {
			if info, ierr := model.Inspect(rc.Store, d); ierr == nil && info.Format != model.Format {
				return nil, engine.Errorf(rc.Config.Range("from"), "the model to continue from is a %q model, not %q: the built-in trainer continues only its own models; a train step with a command can continue from it (it gets it at inputs/from/)", info.Format, model.Format)
			}
			return nil, engine.Errorf(rc.Config.Range("from"), "the model to continue from: %v", err)
		}
		if diff := model.SameArchitecture(&p.cfg, &prev.Config); diff != "" {
			return nil, engine.Errorf(rc.Config.Range("from"), "the model to continue from has another architecture (%s, this step vs the model); set depth, width and batch_norm as the model has them", diff)
		}
		init = prev.Weights
	}
	samples, err := loadSamples(ctx, rc, ds, &p, "data")
	if err != nil {
		return nil, err
	}
	fg := 0
	for _, s := range samples {
		for _, l := range s.Label {
			if l == mtrain.Foreground {
				fg++
			}
		}
	}
	if fg == 0 {
		return nil, engine.Errorf(rc.Config.Range("data"), "the training set (%d images) has no pixels of the foreground classes %s; check foreground or the data", len(samples), strings.Join(p.cfg.Foreground, ", "))
	}
	var val []*mtrain.Sample
	if d, ok := rc.Inputs["validation"]; ok {
		vds, err := dataset.Open(rc.Store, d)
		if err != nil {
			return nil, fmt.Errorf("validation: %w", err)
		}
		var unknown []string
		for _, c := range vds.Meta.Classes {
			if !classes[c.Title] {
				unknown = append(unknown, c.Title)
			}
		}
		if len(unknown) > 0 {
			return nil, engine.Errorf(rc.Config.Range("validation"), "the validation set has classes the training set lacks: %s; map or drop them with a transform step", strings.Join(unknown, ", "))
		}
		if val, err = loadSamples(ctx, rc, vds, &p, "validation"); err != nil {
			return nil, err
		}
	}
	res, err := mtrain.Train(ctx, p.opts, samples, val, init, func(pr mtrain.Progress) {
		if rc.Progress != nil {
			rc.Progress(int64(pr.Step), int64(pr.Steps))
		}
		if rc.Status == nil {
			return
		}
		fields := map[string]any{"epoch": pr.Epoch, "epochs": pr.Epochs, "iter": pr.Step, "iters": pr.Steps, "loss": round(pr.Loss), "unit": "steps"}
		msg := fmt.Sprintf("epoch %d/%d  loss %.4f", pr.Epoch, pr.Epochs, pr.Loss)
		if e := pr.Done; e != nil {
			fields["epoch_done"] = true
			if len(val) > 0 {
				fields["val_iou"] = e.ValIoU
				msg += fmt.Sprintf("  val IoU %.3f", e.ValIoU)
			}
		}
		rc.Status(msg, fields)
	})
	if err != nil {
		return nil, err
	}
	training, err := json.Marshal(trainingRecord(&p, len(samples), len(val)))
	if err != nil {
		return nil, err
	}
	art := &model.Artifact{Config: p.cfg, Training: training, Weights: res.Weights,
		Metrics: model.Metrics{Params: p.cfg.ParamCount(), Validation: res.HasVal, BestEpoch: res.Epochs[res.Best].Epoch, Epochs: res.Epochs}}
	tree, err := art.Save(rc.Store)
	if err != nil {
		return nil, err
	}
	return map[string]cache.Digest{"model": tree}, nil
}

func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// trainingRecord is what config.json says about how the model was made.
func trainingRecord(p *params, nTrain, nVal int) map[string]any {
	o := p.opts
	r := map[string]any{
		"images": nTrain, "validation_images": nVal, "batch": o.Batch, "micro_batch": o.UsedMicroBatch(),
		"epochs": o.Epochs, "steps": o.Steps, "learning_rate": o.LR, "optimizer": "adam",
		"loss":    map[string]any{"bce": o.WBCE, "dice": o.WDice, "edge_band": p.edgeBand, "edge_weight": o.EdgeWeight},
		"augment": map[string]any{"flip": o.Augment.Flip, "random_crop": o.Augment.Crop, "rotate": o.Augment.Rotate, "color": o.Augment.Color},
		"resize":  p.resize, "seed": p.seedString, "platform": engine.Platform(), "gemm": o.GEMM.Name(),
	}
	// Only when set, so that the models of recipes without it keep their bytes.
	if o.Schedule != "" {
		r["lr_schedule"] = o.Schedule
	}
	if o.KeepLast {
		r["keep"] = "last"
	}
	return r
}

// suggest ends a sentence that lists names: "." and engine.Suggest's
// " Did you mean …?" when one is near name, else nothing.
func suggest(name string, names []string) string {
	if s := engine.Suggest(name, names); s != "" {
		return "." + s
	}
	return ""
}

// loadSamples decodes every item of ds into a training sample, in
// parallel, in name order.
func loadSamples(ctx context.Context, rc *engine.RunContext, ds *dataset.Dataset, p *params, attr string) ([]*mtrain.Sample, error) {
	if len(ds.Entries) == 0 {
		return nil, engine.Errorf(rc.Config.Range(attr), "the dataset is empty")
	}
	fg, ign := map[string]bool{}, map[string]bool{}
	for _, c := range p.cfg.Foreground {
		fg[c] = true
	}
	for _, c := range p.cfg.Ignore {
		ign[c] = true
	}
	out := make([]*mtrain.Sample, len(ds.Entries))
	err := rc.ForEach(ctx, len(ds.Entries), 0, func(i int) error {
		var err error
		if out[i], err = loadSample(rc.Store, ds, ds.Entries[i], fg, ign, p.edgeBand); err != nil {
			return fmt.Errorf("%s: item %s: %w", attr, ds.Entries[i].Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !p.resize {
		first := out[0]
		for _, smp := range out[1:] {
			if smp.W != first.W || smp.H != first.H {
				return nil, engine.Errorf(rc.Config.Range(attr), "images have mixed sizes (%s is %d×%d, %s is %d×%d) and resize is off; set resize = true, or make them one size with a transform step",
					first.Name, first.W, first.H, smp.Name, smp.W, smp.H)
			}
		}
		if s := p.cfg.InputSize; first.W != s || first.H != s {
			return nil, engine.Errorf(rc.Config.Range(attr), "the images are %d×%d, not input_size %d×%d, and resize is off; set resize = true, or input_size = %d for square images", first.W, first.H, s, s, first.W)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func loadSample(st dataset.Store, ds *dataset.Dataset, e dataset.Entry, fg, ign map[string]bool, band int) (*mtrain.Sample, error) {
	raw, err := st.ReadBlob(e.Image)
	if err != nil {
		return nil, err
	}
	rgba, err := dataset.DecodeImage(raw)
	if err != nil {
		return nil, err
	}
	b := rgba.Rect
	w, h := b.Dx(), b.Dy()
	a, err := ds.Annotation(st, e)
	if err != nil {
		return nil, err
	}
	s := &mtrain.Sample{Name: e.Name, W: w, H: h, RGB: make([]float32, 3*w*h), Label: make([]uint8, w*h)}
	for i := 0; i < w*h; i++ {
		for c := 0; c < 3; c++ {
			s.RGB[c*w*h+i] = float32(rgba.Pix[4*i+c]) / 255
		}
	}
	// Foreground first, ignored classes on top.
	for _, pass := range []struct {
		set   map[string]bool
		label uint8
	}{{fg, mtrain.Foreground}, {ign, mtrain.Ignored}} {
		for i := range a.Objects {
			o := &a.Objects[i]
			if !pass.set[o.Class] {
				continue
			}
			m, err := o.Raster(w, h)
			if err != nil {
				return nil, fmt.Errorf("object %d (%s): %w", i, o.Class, err)
			}
			for k, bit := range m.Bits {
				if bit != 0 {
					s.Label[k] = pass.label
				}
			}
		}
	}
	s.Edge = mtrain.EdgeBand(s.Label, w, h, band)
	return s, nil
}
