package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/remote"
	"dsbuild/steps"
)

// globalFlags are shared by every command.
type globalFlags struct {
	cacheDir string
	json     bool
	// the remote cache: --remote (else $DSBUILD_REMOTE), --remote-upload,
	// --remote-header
	remoteURL     string
	remoteUpload  bool
	remoteHeaders []string
	// progress, if set before openStore, receives each blob moved to or
	// from the remote (push and pull draw bars with it).
	progress func(up bool, bytes int64)
	// flags are the root's persistent flags: whether --remote was given.
	flags interface{ Changed(name string) bool }
}

// recipeFlags are shared by the commands that load a recipe.
type recipeFlags struct {
	vars     []string
	varFiles []string
}

func (rf *recipeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&rf.vars, "var", nil, "set a recipe variable: -var NAME=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&rf.varFiles, "var-file", nil, "read variables from an HCL file of NAME = VALUE lines (repeatable)")
}

const rootLong = `dsbuild builds machine-learning datasets from HCL recipes.

A recipe is a directory of *.hcl files. Each block is a step: its block type
is the step kind and its label the step's name; references like files.src or
exec.train.out connect steps into a DAG. dsbuild runs the DAG incrementally:
every artifact is stored by the hash of its content and every step result by
the hash of its inputs, so an unchanged step never runs twice, and any dataset
version can be rebuilt and checked exactly.

Exit codes:
  0  built (or nothing to do)
  1  error: a bad recipe, a failed step (for verify: a step that could not
     be rebuilt), a stale dsbuild.lock entry, a store problem
  2  waiting: some step waits for an input that does not exist yet (a review);
     everything else was built
  3  verify found a step whose rebuild differs from the lockfile

The store lives in the user cache directory; --cache DIR or DSBUILD_CACHE
put it elsewhere.`

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "dsbuild",
		Short:         "Reproducible dataset builds from HCL recipes",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.PersistentFlags().StringVar(&g.cacheDir, "cache", "", "store directory (default $DSBUILD_CACHE, else the user cache directory)")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print one JSON object per line instead of text")
	root.PersistentFlags().StringVar(&g.remoteURL, "remote", "", "remote cache shared by machines: s3://BUCKET/PREFIX or grpc[s]://HOST:PORT (default $"+remote.EnvURL+"; see dsbuild help remote)")
	root.PersistentFlags().BoolVar(&g.remoteUpload, "remote-upload", true, "upload the results of steps that run to the remote (false: read-only, as for CI jobs that only consume; also $"+remote.EnvUpload+"=false)")
	root.PersistentFlags().StringArrayVar(&g.remoteHeaders, "remote-header", nil, "send NAME=VALUE with every call to a grpc remote, as for auth tokens (repeatable; also $"+remote.EnvHeaders+", one NAME: VALUE per line)")
	g.flags = root.PersistentFlags()
	root.AddCommand(
		newBuildCmd(g),
		newPlanCmd(g),
		newExplainCmd(g),
		newGraphCmd(g),
		newVerifyCmd(g),
		newFmtCmd(g),
		newValidateCmd(g),
		newCacheCmd(g),
		newGCCmd(g),
		newCheckoutCmd(g),
		newConvertCmd(g),
		newStatsCmd(g),
		newDiffCmd(g),
		newTagCmd(g),
		newLogCmd(g),
		newShowCmd(g),
		newReviewCmd(g),
		newPushCmd(g),
		newPullCmd(g),
		newWorkerCmd(g),
		newStatusCmd(g),
		&cobra.Command{Use: "remote", Short: "How machines share results through a remote cache (S3, Bazel remote cache)", Long: remoteHelp},
	)
	return root
}

// remoteSource gives the recipe's remote block (nil for none): read from
// the recipe's directory (inDir), or as an already loaded recipe has it
// (ofRecipe), which is not parsed again.
type remoteSource func() (*engine.RemoteConfig, error)

// inDir reads the remote block of the recipe in dir ("": no recipe).
func inDir(dir string) remoteSource {
	if dir == "" {
		return nil
	}
	return func() (*engine.RemoteConfig, error) { return recipeRemote(dir) }
}

// ofRecipe is the remote block of a loaded recipe.
func ofRecipe(r *engine.Recipe) remoteSource {
	return func() (*engine.RemoteConfig, error) { return r.Remote, nil }
}

// openStore opens the store and attaches the remote that --remote, the
// environment or the recipe's remote block (src; nil for none) names. A remote that refuses the credentials, or a URL that is
// wrong, is an error; one that does not answer is a warning, and the
// command goes on without it.
func (g *globalFlags) openStore(logf func(string, ...any), src remoteSource) (*cache.Store, error) {
	s, err := g.openLocalStore(logf)
	if err != nil {
		return nil, err
	}
	r, upload, err := g.openRemote(src)
	var down *remote.UnreachableError
	switch {
	case errors.As(err, &down):
		logf("%v; going on without it", err)
	case err != nil:
		return nil, err
	case r != nil:
		s.SetRemote(r, cache.RemoteOptions{
			Upload:   upload,
			Warn:     func(msg string) { logf("%s", msg) },
			Progress: g.progress,
		})
	}
	return s, nil
}

// openLocalStore opens the store without its remote, for commands that
// only look at what is stored here (gc): no network, and a remote that is
// down or refuses the credentials cannot stop them.
func (g *globalFlags) openLocalStore(logf func(string, ...any)) (*cache.Store, error) {
	dir, err := g.storeDir()
	if err != nil {
		return nil, err
	}
	return cache.Open(dir, logf)
}

// remoteChoice is the remote a command uses and where it was named.
type remoteChoice struct {
	url    string
	upload bool
	opt    remote.Options
	from   string // "--remote", "$DSBUILD_REMOTE" or "the remote block at FILE:LINE"
}

// chooseRemote decides the remote: --remote when given (an empty value
// means none) over $DSBUILD_REMOTE over the recipe's remote block. Uploads are
// on unless --remote-upload, $DSBUILD_REMOTE_UPLOAD or the remote block
// (for its own URL) turn them off; an explicit flag or variable wins.
func (g *globalFlags) chooseRemote(src remoteSource) (remoteChoice, error) {
	envURL, envUpload, opt, err := remote.FromEnv(nil)
	if err != nil {
		return remoteChoice{}, err
	}
	c := remoteChoice{upload: true, opt: opt}
	switch {
	case g.flags != nil && g.flags.Changed("remote"):
		c.url, c.from = g.remoteURL, "--remote"
	case envURL != "":
		c.url, c.from = envURL, "$"+remote.EnvURL
	case src != nil:
		rc, err := src()
		if err != nil {
			return remoteChoice{}, err
		}
		if rc != nil {
			c.url, c.upload = rc.URL, rc.Upload
			c.from = "the remote block at " + rc.Range.Filename + ":" + fmt.Sprint(rc.Range.Start.Line)
			if c.opt.CAFile == "" {
				c.opt.CAFile = rc.CAFile
			}
		}
	}
	if os.Getenv(remote.EnvUpload) != "" {
		c.upload = envUpload
	}
	if g.flags != nil && g.flags.Changed("remote-upload") {
		c.upload = g.remoteUpload
	}
	if len(g.remoteHeaders) > 0 {
		h, err := remote.ParseHeaders(g.remoteHeaders)
		if err != nil {
			return remoteChoice{}, fmt.Errorf("--remote-header: %w", err)
		}
		if c.opt.Headers == nil {
			c.opt.Headers = map[string]string{}
		}
		for k, v := range h {
			c.opt.Headers[k] = v
		}
	}
	return c, nil
}

// recipeRemote reads the remote block of the recipe in dir; a directory
// without *.hcl files (a store digest or tag given where a recipe may be)
// has none.
func recipeRemote(dir string) (*engine.RemoteConfig, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, "*.hcl")); len(m) == 0 {
		return nil, nil
	}
	rc, diags, files := engine.LoadRemote(dir)
	if len(diags) > 0 {
		printDiags(files, diags)
	}
	if diags.HasErrors() {
		return nil, errReported
	}
	return rc, nil
}

// openRemote opens the remote chooseRemote names (nil when none does).
func (g *globalFlags) openRemote(src remoteSource) (cache.Remote, bool, error) {
	c, err := g.chooseRemote(src)
	if err != nil || c.url == "" {
		return nil, false, err
	}
	r, err := remote.Open(context.Background(), c.url, c.opt)
	if err != nil {
		var down *remote.UnreachableError
		if c.from != "--remote" && c.from != "$"+remote.EnvURL && !errors.As(err, &down) {
			err = fmt.Errorf("%s: %w", c.from, err)
		}
		return nil, false, err
	}
	return r, c.upload, nil
}

// storeDir is the store's directory: --cache, else the default.
func (g *globalFlags) storeDir() (string, error) {
	if g.cacheDir != "" {
		return g.cacheDir, nil
	}
	return cache.DefaultDir()
}

func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dsbuild: warning: "+format+"\n", args...)
}

// splitRecipeArgs reads [RECIPE] [TARGET...]: the first argument is the
// recipe directory when it is a directory; otherwise the recipe is ".".
func splitRecipeArgs(args []string) (dir string, targets []string) {
	if len(args) > 0 {
		if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
			return args[0], args[1:]
		}
		if !strings.Contains(args[0], ".") || strings.ContainsAny(args[0], "/\\") {
			// Looks like a path, not kind.name: let Load report it.
			return args[0], args[1:]
		}
	}
	return ".", args
}

// loadRecipe loads a recipe with the variables -var and -var-file give (and
// defaults) and prints its diagnostics with source snippets; it returns
// errReported when there were errors. build uses it: a build is of what
// the command line says.
func loadRecipe(dir string, rf *recipeFlags) (*engine.Recipe, error) {
	return load(dir, rf, nil)
}

func load(dir string, rf *recipeFlags, recorded map[string]cty.Value) (*engine.Recipe, error) {
	r, diags := engine.Load(dir, engine.LoadOptions{Kinds: steps.Kinds(), Macros: steps.Macros(), Vars: rf.vars, VarFiles: rf.varFiles, Recorded: recorded})
	if len(diags) > 0 {
		printDiags(r.Files, diags)
	}
	if diags.HasErrors() {
		return nil, errReported
	}
	return r, nil
}

// loadLocked loads a recipe and its lockfile for the commands that look at
// what was built (plan, explain, verify, and those that resolve a step
// through the lockfile): variables that -var and -var-file do not set take
// the values the lockfile records, so that the keys are those of the
// recipe state that was built, and a note on stderr says so.
func loadLocked(dir string, rf *recipeFlags) (*engine.Recipe, *engine.Lockfile, error) {
	var recorded map[string]cty.Value
	lock, lerr := engine.ReadLockfile(dir)
	if lerr == nil {
		var err error
		if recorded, err = lock.VarValues(); err != nil {
			return nil, nil, err
		}
	}
	r, err := load(dir, rf, recorded)
	if err != nil {
		return nil, nil, err
	}
	if lerr != nil {
		return nil, nil, lerr
	}
	if len(r.RecordedVars) > 0 {
		fmt.Fprintf(os.Stderr, "dsbuild: using the variable values %s records: %s (-var overrides them)\n", engine.LockfileName, engine.DescribeVars(r.Vars, r.RecordedVars))
	}
	return r, lock, nil
}

// loadTargets loads a recipe, the steps named by targets (nil for all) and
// its lockfile: what build, plan and explain start from. With recorded,
// the lockfile's variable values fill in for -var (see loadLocked).
func loadTargets(dir string, targets []string, rf *recipeFlags, recorded bool) (*engine.Recipe, []*engine.Step, *engine.Lockfile, error) {
	var r *engine.Recipe
	var lock *engine.Lockfile
	var err error
	if recorded {
		r, lock, err = loadLocked(dir, rf)
	} else if r, err = loadRecipe(dir, rf); err == nil {
		lock, err = engine.ReadLockfile(r.Dir)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	steps, err := resolveTargets(r, targets)
	if err != nil {
		return nil, nil, nil, err
	}
	return r, steps, lock, nil
}

// recipeDir is the optional [RECIPE] argument, "." by default.
func recipeDir(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "."
}

// resolveTargets maps "kind.name" arguments to steps, with suggestions.
func resolveTargets(r *engine.Recipe, names []string) ([]*engine.Step, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []*engine.Step
	for _, n := range names {
		s := r.Step(n)
		if s == nil {
			var all []string
			for _, st := range r.Steps {
				all = append(all, st.Addr)
			}
			if sug := engine.Suggest(n, all); sug != "" {
				return nil, fmt.Errorf("no step %q in %s.%s The steps are: %s", n, displayDir(r.Dir), sug, strings.Join(all, ", "))
			}
			return nil, fmt.Errorf("no step %q in %s; the steps are: %s", n, displayDir(r.Dir), strings.Join(all, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

func displayDir(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return abs
}

func defaultJobs() int { return runtime.NumCPU() }

// version describes this binary: module version, VCS revision, platform.
func version() string {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					rev += "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("%s%s (%s, %s)", v, rev, runtime.Version(), engine.Platform())
}
