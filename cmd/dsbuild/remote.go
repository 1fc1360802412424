package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"dsbuild/cache"
	"dsbuild/engine"
	"dsbuild/remote"
)

const remoteHelp = `A remote cache lets machines share results: a step built on one machine
is cached on every other machine that uses the same remote, and its outputs
are downloaded only when something reads them.

Name the remote with --remote URL or DSBUILD_REMOTE:

  s3://BUCKET/PREFIX           an S3 bucket (AWS, MinIO, Ceph, R2, GCS interop).
                               Credentials and endpoint come from the standard
                               AWS variables and files: AWS_ACCESS_KEY_ID,
                               AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_PROFILE,
                               and AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) for
                               a server that is not AWS, e.g. http://127.0.0.1:7070.
  grpc://HOST:PORT[/INSTANCE]  a Bazel remote cache (REAPI v2: bazel-remote,
  grpcs://HOST:PORT[/INSTANCE] BuildBuddy, NativeLink…), plaintext or TLS;
                               user:password@ in the URL for basic auth,
                               --remote-header NAME=VALUE for tokens,
                               DSBUILD_REMOTE_CA for a private CA.

Or name it in the recipe, for everyone who builds it (no secrets there:
credentials always come from the environment):

  remote {
    url    = "s3://team-datasets/dsbuild"
    upload = false      # optional (default true): only CI uploads, say
    # ca_file = "ca.pem"  optional: a private CA for grpcs://
  }

--remote (even --remote '' for none) wins over DSBUILD_REMOTE, which wins
over the recipe's block; --remote-upload and DSBUILD_REMOTE_UPLOAD, when
given, win over the block's upload.

build looks each step up in the local store, then on the remote; a step the
remote holds counts as cached once its closure (every blob its outputs reach)
is confirmed there, without downloading it. Steps that run upload their
results (blobs first, the entry last), unless --remote-upload=false or
DSBUILD_REMOTE_UPLOAD=false (read-only, for CI jobs that only consume).
Small blobs (up to 256 KiB: annotations, masks, small images) travel in
packs of about 8 MiB, read back by range, so a dataset of many small files
costs few requests.
checkout, diff, stats, show and verify download what they read, on demand.
Every downloaded blob is verified against its digest before it is stored; a
corrupt, truncated or missing object counts as a miss and the step runs here.
A remote that stops answering is given up for the rest of the command, with a
warning, and the work goes on locally.

push and pull move whole results: push uploads what the local store holds
for the steps of dsbuild.lock; pull downloads them so that the local store
holds them completely (for offline work).`

func newPushCmd(g *globalFlags) *cobra.Command {
	return newTransferCmd(g, true)
}

func newPullCmd(g *globalFlags) *cobra.Command {
	return newTransferCmd(g, false)
}

// newTransferCmd is push (up) or pull.
func newTransferCmd(g *globalFlags, up bool) *cobra.Command {
	var tags []string
	var force bool
	use, short, long := "push [RECIPE] [STEP...]", "Upload the results dsbuild.lock names to the remote cache",
		`Push uploads, for every step dsbuild.lock records (or the steps named), the
step's result as the local store holds it: every blob its outputs reach that
the remote lacks (one batched existence check), then the step's entry. A step
whose result is not complete in the local store is an error naming it.
--tag NAME pushes a release (dsbuild tag) the same way: its record and
everything its dataset reaches, then the tag; a tag of that name on the
remote that names something else is replaced only with --force.

`
	if !up {
		use, short, long = "pull [RECIPE] [STEP...]", "Download the results dsbuild.lock names from the remote cache",
			`Pull downloads, for every step dsbuild.lock records (or the steps named), the
step's result from the remote cache into the local store, verifying every
blob, so that the store holds it completely (a build, checkout or verify then
needs no network). A step the remote lacks, or whose blobs are missing or
corrupt there, is an error naming it. --tag NAME pulls a release that
another machine pushed and sets the tag here (dsbuild diff, stats and log
then know it); a tag of that name here that names something else is
replaced only with --force.

`
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long + remoteHelp,
		Example: "  DSBUILD_REMOTE=grpc://127.0.0.1:9092 dsbuild " + transferName(up) + " recipes/datasets\n  dsbuild " + transferName(up) + " --tag person-v1",
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, names := splitRecipeArgs(args)
			lock := &engine.Lockfile{}
			var addrs []string
			if len(args) > 0 || len(tags) == 0 {
				var err error
				if lock, err = engine.ReadLockfile(dir); err != nil {
					return err
				}
				if addrs, err = lockedSteps(lock, names, dir); err != nil {
					return err
				}
			} else {
				dir = ""
			}
			for _, t := range tags {
				if err := cache.ValidName(t); err != nil {
					return fmt.Errorf("--tag: %w", err)
				}
			}
			meter := newTransferMeter(g, up)
			defer meter.close()
			g.progress = meter.add
			store, err := g.openStore(func(f string, a ...any) { warnf(f, a...) }, inDir(dir))
			if err != nil {
				return err
			}
			if !store.HasRemote() {
				if c, err := g.chooseRemote(inDir(dir)); err == nil && c.url == "" {
					return fmt.Errorf("no remote: name one with --remote URL, %s or a remote block in the recipe (see dsbuild help remote)", remote.EnvURL)
				}
				return fmt.Errorf("the remote is not reachable")
			}
			unlock, err := store.LockShared()
			if err != nil {
				return err
			}
			defer unlock()
			start := time.Now()
			for _, addr := range addrs {
				ls := lock.Steps[addr]
				if up {
					var outs []cache.Output
					for _, name := range slices.Sorted(maps.Keys(ls.Outputs)) {
						outs = append(outs, cache.Output{Name: name, Digest: ls.Outputs[name]})
					}
					if err := store.UploadAction(cmd.Context(), ls.Key.ActionKey(), outs); err != nil {
						return fmt.Errorf("pushing %s: %w", addr, err)
					}
					continue
				}
				outs, err := store.PullAction(cmd.Context(), ls.Key.ActionKey())
				if err != nil {
					return fmt.Errorf("pulling %s: %w (the remote %s does not hold its result whole; build it and push it, or build it here)", addr, err, store.RemoteName())
				}
				for _, o := range outs {
					if ls.Outputs[o.Name] != o.Digest {
						return fmt.Errorf("pulling %s: the remote records output %s %s for its key, %s names %s", addr, o.Name, o.Digest.Short(), engine.LockfileName, ls.Outputs[o.Name].Short())
					}
				}
			}
			for _, t := range tags {
				if err := transferTag(cmd.Context(), store, t, up, force); err != nil {
					return err
				}
			}
			meter.close()
			st := store.RemoteStats()
			if g.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"event": "summary", "remote": store.RemoteName(), "steps": len(addrs), "tags": len(tags), "transfer": st})
			}
			verb, n, b, dir := "uploaded", st.Uploads, st.UploadBytes, "to"
			if !up {
				verb, n, b, dir = "downloaded", st.Downloads, st.DownloadBytes, "from"
			}
			what := fmt.Sprintf("%d steps", len(addrs))
			if len(tags) > 0 {
				what += fmt.Sprintf(", %d tags", len(tags))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %d blobs (%s) %s %s in %.1fs\n", what, verb, n, humanBytes(b),
				dir, store.RemoteName(), time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "also "+transferName(up)+" the release tagged NAME (dsbuild tag): its record and dataset (repeatable; with --tag alone no recipe is needed)")
	cmd.Flags().BoolVar(&force, "force", false, "replace a tag of the same name that names something else "+map[bool]string{true: "on the remote", false: "here"}[up])
	return cmd
}

// transferTag pushes (up) or pulls the release tag name. A tag of that
// name that names other roots where it goes is replaced only with force:
// a release, once shared, should not change under its readers.
func transferTag(ctx context.Context, store *cache.Store, name string, up, force bool) error {
	if up {
		local, err := store.Tag(name)
		if err != nil {
			return fmt.Errorf("pushing tag %s: %w (dsbuild log lists the tags here)", name, err)
		}
		if theirs, err := store.RemoteTag(ctx, name); err == nil && !slices.Equal(theirs, local) && !force {
			return fmt.Errorf("pushing tag %s: the remote %s already has a tag %s naming %s, this store's names %s; --force replaces it", name, store.RemoteName(), name, theirs[0].Short(), local[0].Short())
		}
		if err := store.UploadTag(ctx, name); err != nil {
			return fmt.Errorf("pushing tag %s: %w", name, err)
		}
		return nil
	}
	if !force {
		if local, err := store.Tag(name); err == nil {
			theirs, err := store.RemoteTag(ctx, name)
			if err != nil {
				return fmt.Errorf("pulling tag %s: %w", name, err)
			}
			if !slices.Equal(theirs, local) {
				return fmt.Errorf("pulling tag %s: this store has a tag %s naming %s, the remote's names %s; --force replaces it", name, name, local[0].Short(), theirs[0].Short())
			}
		}
	}
	if _, err := store.PullTag(ctx, name); err != nil {
		return fmt.Errorf("pulling tag %s: %w (the remote %s does not hold it whole; push it from a machine that has it)", name, err, store.RemoteName())
	}
	return nil
}

// transferName is the command's name: push (up) or pull.
func transferName(up bool) string {
	if up {
		return "push"
	}
	return "pull"
}

// lockedSteps are the step addresses of lock that names selects (all when
// empty), sorted.
func lockedSteps(lock *engine.Lockfile, names []string, dir string) ([]string, error) {
	if len(names) == 0 {
		if len(lock.Steps) == 0 {
			return nil, fmt.Errorf("%s has no %s: build it first", dir, engine.LockfileName)
		}
		return slices.Sorted(maps.Keys(lock.Steps)), nil
	}
	var out []string
	for _, n := range names {
		if _, ok := lock.Steps[n]; !ok {
			return nil, fmt.Errorf("%s is not in %s/%s: build it first", n, dir, engine.LockfileName)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// transferMeter draws a bar of blobs and bytes moved on a terminal.
type transferMeter struct {
	p            *mpb.Progress
	bar          *mpb.Bar
	blobs, bytes atomic.Int64
}

func newTransferMeter(g *globalFlags, up bool) *transferMeter {
	m := &transferMeter{}
	if g.json || !term.IsTerminal(int(os.Stderr.Fd())) {
		return m
	}
	name := transferName(up)
	m.p = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(30), mpb.WithRefreshRate(150*time.Millisecond))
	m.bar = m.p.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Name(name+" ")),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string { return fmt.Sprintf("%d blobs", m.blobs.Load()) }, decor.WCSyncSpaceR),
			decor.Current(decor.SizeB1024(0), "% .1f", decor.WCSyncSpaceR),
			decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace),
		))
	return m
}

func (m *transferMeter) add(_ bool, n int64) {
	m.blobs.Add(1)
	m.bytes.Add(n)
	if m.bar != nil {
		m.bar.IncrInt64(n)
	}
}

func (m *transferMeter) close() {
	if m.p == nil {
		return
	}
	m.bar.Abort(false)
	m.p.Wait()
	m.p = nil
}

// withRemoteFailure adds to err the last call to the remote that failed
// during the command, if one did: the likely reason why a result the
// remote holds was not found.
func withRemoteFailure(store *cache.Store, err error) error {
	if err == nil {
		return nil
	}
	if last := store.RemoteStats().LastError; last != "" {
		return fmt.Errorf("%w\n(the remote failed during this command: %s; try again when it answers, or work without it: --remote '')", err, last)
	}
	return err
}

// reportTransfer tells, on stderr, what a command that reads outputs
// downloaded from the remote (nothing when it has none or moved nothing).
func reportTransfer(store *cache.Store) {
	st := store.RemoteStats()
	if st.Downloads == 0 && st.Manifests == 0 {
		return
	}
	packed := ""
	if st.RangeReads > 0 {
		packed = fmt.Sprintf(", the blobs that travel in packs by %d ranged reads", st.RangeReads)
	}
	fmt.Fprintf(os.Stderr, "dsbuild: downloaded %d blobs (%d bytes) and %d closure manifests (%d bytes) from remote %s%s\n",
		st.Downloads, st.DownloadBytes, st.Manifests, st.ManifestBytes, store.RemoteName(), packed)
}
