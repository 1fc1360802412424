package review

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"dsbuild/cache"
	rv "dsbuild/dataset/review"
	"dsbuild/engine"
	"dsbuild/model"
)

// The states of a review step, as [Statuses] gives them.
const (
	// StateWaiting: the package was written and no results are there yet.
	StateWaiting = "waiting"
	// StateResultsReady: results are in place; the next build imports them.
	StateResultsReady = "results-ready"
	// StateReviewed: the lockfile records the review, built from the
	// results now in place (checked by engine.ResolveLocked).
	StateReviewed = "reviewed"
	// StateSimulated: a simulate block plays the reviewer.
	StateSimulated = "simulated"
	// StateNotBuilt: the build has not reached the step yet.
	StateNotBuilt = "not-built"
)

// Status is where one review step stands: what dsbuild review status
// shows. Its JSON is the documented schema of review status --json (fields
// absent where they do not apply); paths are relative to the recipe.
type Status struct {
	Step      string `json:"step"`
	State     string `json:"state"` // one of the State constants
	Bootstrap string `json:"bootstrap,omitempty"`
	Round     int    `json:"round,omitempty"`
	Package   string `json:"package,omitempty"`
	Results   string `json:"results,omitempty"`
	// The verdicts' figures, once the lockfile confirms the review: items,
	// objects, accepted_objects, counts, percent, usable_percent, iou.
	*Summary
	Model     *ModelStatus `json:"model,omitempty"`
	CropModel *ModelStatus `json:"crop_model,omitempty"`
}

// ModelStatus is a train step whose model made a review's predictions.
type ModelStatus struct {
	Step string `json:"step"`
	// From the model's metrics, once the lockfile confirms the train step
	// and it was trained with validation: the kept epoch's validation IoU.
	ValIoU    *float64 `json:"val_iou,omitempty"`
	BestEpoch int      `json:"best_epoch,omitempty"`
	Epochs    int      `json:"epochs,omitempty"`
	// Format is the model's declared format (docs/model.md), once the
	// lockfile confirms the train step: "dsbuild-model/1" for the built-in
	// trainer's, the trainer's own for a command's.
	Format string `json:"format,omitempty"`
}

// roundName matches the review steps a bootstrap block expands into:
// N_roundR is round R of bootstrap N.
var roundName = regexp.MustCompile(`^(.+)_round([0-9]+)$`)

// Statuses gives every review step of r its status, in the recipe's order.
// Figures come only from lockfile entries that engine.ResolveLocked
// confirms (the key recomputed, the outputs in store): after new or edited
// results a step is results-ready, as a build sees it. Statuses stores
// nothing (keys are recomputed as plan does); what it cannot read or
// confirm it leaves out, so it has no error.
func Statuses(ctx context.Context, r *engine.Recipe, lock *engine.Lockfile, store *cache.Store) []Status {
	resolved := func(s *engine.Step) map[string]cache.Digest {
		if _, ok := lock.Steps[s.Addr]; !ok {
			return nil
		}
		outs, err := engine.ResolveLocked(ctx, r, lock, store, s, r.Dir)
		if err != nil {
			return nil
		}
		return outs
	}
	var states []Status
	for _, s := range r.Steps {
		if s.KindName != "review" {
			continue
		}
		pkg, results := Dirs(s)
		st := Status{Step: s.Addr}
		if m := roundName.FindStringSubmatch(s.Name); m != nil {
			if n, err := strconv.Atoi(m[2]); err == nil {
				st.Bootstrap, st.Round = m[1], n
			}
		}
		if outs := resolved(s); outs != nil {
			if rep, err := ReadReport(store, outs["report"]); err == nil {
				sum := rep.Summary()
				st.Summary = &sum
			}
		}
		if from := input(s, "from"); from != nil {
			st.Model = trainedModel(store, input(from, "model"), resolved)
			st.CropModel = trainedModel(store, input(from, "crop_model"), resolved)
		}
		exists := func(rel string) bool {
			ents, err := os.ReadDir(filepath.Join(r.Dir, rel))
			return err == nil && len(ents) > 0
		}
		switch {
		case Simulated(s.Config):
			st.State = StateSimulated
		case st.Summary != nil:
			st.State, st.Results = StateReviewed, results
		case rv.HasResults(filepath.Join(r.Dir, results)):
			st.State, st.Results = StateResultsReady, results
		case exists(pkg):
			st.State, st.Package, st.Results = StateWaiting, pkg, results
		default:
			st.State = StateNotBuilt
		}
		states = append(states, st)
	}
	return states
}

// input returns the step that s's attribute attr names (the first, for a
// list), or nil.
func input(s *engine.Step, attr string) *engine.Step {
	for _, in := range s.Config.Inputs {
		if in.Attr == attr {
			return in.From
		}
	}
	return nil
}

// trainedModel describes the model of train step s (nil when s is not a
// train step), with its metrics when resolve confirms the step.
func trainedModel(store *cache.Store, s *engine.Step, resolve func(*engine.Step) map[string]cache.Digest) *ModelStatus {
	if s == nil || s.KindName != "train" {
		return nil
	}
	m := &ModelStatus{Step: s.Addr}
	outs := resolve(s)
	if outs == nil {
		return m
	}
	// Any model that keeps the contract: dsbuild's own or a command's.
	info, err := model.Inspect(store, outs["model"])
	if err != nil {
		return m
	}
	m.Format = info.Format
	if info.Metrics == nil {
		return m
	}
	mt := info.Metrics
	m.Epochs = len(mt.Epochs)
	kept := mt.BestEpoch
	if kept == 0 && len(mt.Epochs) > 0 {
		kept = mt.Epochs[len(mt.Epochs)-1].Epoch // no best_epoch: the weights are the last epoch's
	}
	if mt.Validation && info.Has(kept, "val_iou") {
		for _, e := range mt.Epochs {
			if e.Epoch == kept {
				v := e.Figure("val_iou")
				m.ValIoU, m.BestEpoch = &v, kept
			}
		}
	}
	return m
}
