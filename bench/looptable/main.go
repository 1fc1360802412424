// Command looptable prints, as a markdown page, what each round of a
// recipe's bootstrap loop did: the share of good, needs-correction and bad
// predictions of its review and the validation IoU of the model that made
// them, with the seed's reported figures beside them. It reads the recipe's
// dsbuild.lock and the store, so build the recipe first; bench/loop.sh
// does both and writes docs/loop.md.
//
//	looptable [-cache DIR] RECIPE_DIR BOOTSTRAP_NAME
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/model"
	"dsbuild/steps/review"
)

func main() {
	cacheDir := flag.String("cache", os.Getenv("DSBUILD_CACHE"), "the store (default $DSBUILD_CACHE, else the user cache directory)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: looptable [-cache DIR] RECIPE_DIR BOOTSTRAP_NAME")
		os.Exit(2)
	}
	if err := run(*cacheDir, flag.Arg(0), flag.Arg(1)); err != nil {
		fmt.Fprintln(os.Stderr, "looptable:", err)
		os.Exit(1)
	}
}

func run(dir, recipe, name string) error {
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(); err != nil {
			return err
		}
	}
	store, err := cache.Open(dir, func(string, ...any) {})
	if err != nil {
		return err
	}
	lock, err := engine.ReadLockfile(recipe)
	if err != nil {
		return err
	}
	out := func(addr, output string) (cache.Digest, error) {
		s, ok := lock.Steps[addr]
		if !ok {
			return cache.Digest{}, fmt.Errorf("%s is not in %s/dsbuild.lock; build the recipe first", addr, recipe)
		}
		return s.Outputs[output], nil
	}
	valIoU := func(r int) (string, error) {
		d, err := out(fmt.Sprintf("train.%s_round%d", name, r), "model")
		if err != nil {
			return "", err
		}
		a, err := model.Load(store, d)
		if err != nil {
			return "", err
		}
		if !a.Metrics.Validation {
			return "–", nil
		}
		return fmt.Sprintf("%.3f", a.Metrics.Best().ValIoU), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| round | model | its val IoU | reviewed | good | needs correction | bad | usable (good + corrected) |\n")
	fmt.Fprintf(&b, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for r := 1; ; r++ {
		d, err := out(fmt.Sprintf("review.%s_round%d", name, r), "report")
		if err != nil {
			if r == 1 {
				return err
			}
			break
		}
		rep, err := review.ReadReport(store, d)
		if err != nil {
			return err
		}
		iou, err := valIoU(r - 1)
		if err != nil {
			return err
		}
		pct := func(k string) string { return fmt.Sprintf("%.0f %%", 100*rep.Shares[k]) }
		usable := 100 * (rep.Shares["good"] + rep.Shares["needs correction"])
		fmt.Fprintf(&b, "| %d | train.%s_round%d | %s | %d | %s | %s | %s | %.0f %% |\n", r, name, r-1, iou, rep.Items,
			pct("good"), pct("needs correction"), pct("bad"), usable)
	}
	// The last round's model made no predictions here; say how it scores.
	last := 0
	for r := 1; ; r++ {
		if _, ok := lock.Steps[fmt.Sprintf("train.%s_round%d", name, r)]; !ok {
			break
		}
		last = r
	}
	iou, err := valIoU(last)
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nThe final model, train.%s_round%d, has validation IoU %s.\n", name, last, iou)
	fmt.Print(b.String())
	return nil
}
