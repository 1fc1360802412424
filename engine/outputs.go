package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Output paths. Every path that a step or a command writes or removes
// outside the store goes through this file's checks first:
//
//   - a step's output directory (a review's package) is named relative to
//     the recipe and must stay inside it: not the recipe directory, not an
//     ancestor of it, not reached through a symbolic link that leaves it;
//   - a path given on the command line (checkout DIR, convert DST, --html
//     FILE) is the user's choice of place, but still must not be the recipe
//     directory or an ancestor of it;
//   - neither may overlap (be, hold or lie inside) a directory that a step
//     of the recipe reads or writes (a files or import path, another
//     review's directories), nor the store;
//   - a symbolic link, device or other non-regular file at the path is
//     refused, never replaced or written through;
//   - a directory is replaced only when dsbuild made it: it holds
//     OutputMarker, which dsbuild writes into every directory it makes at
//     an output path. A directory without one is left alone, with an error.

// OutputMarker is the file dsbuild writes into a directory that it makes
// at an output path (a review package). Its presence says that dsbuild may
// replace the directory; dsbuild replaces no other non-empty directory.
const OutputMarker = ".dsbuild-output"

// markerText is OutputMarker's content; a file of that name with other
// content is not dsbuild's.
const markerText = "dsbuild output directory\n" +
	"dsbuild made this directory and replaces it, with everything in it, when it writes this output again.\n" +
	"Delete this file to keep dsbuild from touching the directory.\n"

// PathUser is implemented by kinds whose parameters name directories of the
// user's tree, relative to the recipe directory: sources they read (a files
// or import path) and outputs they write (a review package). The engine
// checks the outputs when the recipe loads and the kind checks them again,
// on the file system, with RunContext.OutputDir before writing.
type PathUser interface {
	Paths(s *Step) []PathUse
}

// PathUse is one directory that a step uses.
type PathUse struct {
	Attr   string // the parameter that names it (for the recipe line)
	Path   string // relative to the recipe directory
	Output bool   // the step writes or replaces it; otherwise it only reads it
}

// Claim is a directory that outputs must keep clear of, and what uses it.
type Claim struct {
	Path string // absolute
	By   string // "files.src (path)", "convert's SRC"
}

// OutputRules are what an output path is checked against.
type OutputRules struct {
	// RecipeDir is the recipe directory (absolute), or "" for a command
	// without one. Step outputs are relative to it.
	RecipeDir string
	// Store is the store directory, or "".
	Store string
	// Claims are directories that steps read or write.
	Claims []Claim
}

// OutputRules returns the rules for outputs of the recipe r with the store
// in directory store: r's directory, and every directory its steps name.
func (r *Recipe) OutputRules(store string) *OutputRules {
	o := &OutputRules{RecipeDir: r.Dir, Store: store}
	for _, s := range r.Steps {
		pu, ok := s.Kind.(PathUser)
		if !ok || s.Config == nil {
			continue
		}
		for _, u := range pu.Paths(s) {
			if u.Path == "" {
				continue
			}
			o.Claims = append(o.Claims, Claim{Path: absIn(r.Dir, u.Path), By: s.Addr + " (" + u.Attr + ")"})
		}
	}
	return o
}

// OutputDir checks a directory that the step writes, named by its
// parameter attr as rel (relative to the recipe directory), on the file
// system, and returns its absolute path. The error names the recipe line.
func (rc *RunContext) OutputDir(attr, rel string) (string, error) {
	rules := &OutputRules{RecipeDir: rc.RecipeDir}
	if rc.Recipe != nil {
		rules = rc.Recipe.OutputRules("")
	}
	if rc.Store != nil {
		rules.Store = rc.Store.Dir()
	}
	self := rc.Step.Addr + " (" + attr + ")"
	var claims []Claim
	for _, c := range rules.Claims {
		if c.By != self {
			claims = append(claims, c)
		}
	}
	rules.Claims = claims
	p, err := rules.StepDir(rel)
	if err != nil {
		return "", Errorf(rc.Config.Range(attr), "%s = %q: %w", attr, rel, err)
	}
	return p, nil
}

// checkRel checks the spelling of a step's output path: relative, inside
// the recipe directory, not the directory itself.
func checkRel(rel string) error {
	if rel == "" {
		return errors.New("the path is empty")
	}
	if filepath.IsAbs(rel) {
		return errors.New("the path must be relative to the recipe directory")
	}
	switch c := filepath.Clean(rel); {
	case c == ".":
		return errors.New("the path is the recipe directory itself; dsbuild would replace the whole recipe")
	case c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)):
		return errors.New("the path leaves the recipe directory; outputs are written inside it")
	}
	return nil
}

// StepDir checks a step's output directory rel (relative to the recipe
// directory) and returns its absolute path.
func (o *OutputRules) StepDir(rel string) (string, error) {
	if err := checkRel(rel); err != nil {
		return "", err
	}
	p := filepath.Join(o.RecipeDir, rel)
	res, err := resolveParent(p)
	if err != nil {
		return "", err
	}
	rd, err := resolveExisting(o.RecipeDir)
	if err != nil {
		return "", err
	}
	if !inside(res, rd) || res == rd {
		return "", fmt.Errorf("%s leads outside the recipe directory through a symbolic link", p)
	}
	return p, o.check(p, res, true)
}

// UserDir checks a directory named on the command line that a command
// writes into (checkout DIR, convert DST), and returns its absolute path.
// The directory itself must not exist or be empty: commands never replace
// a directory there.
func (o *OutputRules) UserDir(path string) (string, error) {
	return o.user(path, true)
}

// UserFile checks a file named on the command line that a command writes
// (--html FILE), and returns its absolute path.
func (o *OutputRules) UserFile(path string) (string, error) {
	return o.user(path, false)
}

func (o *OutputRules) user(path string, dir bool) (string, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	res, err := resolveParent(p)
	if err != nil {
		return "", err
	}
	if err := o.check(p, res, dir); err != nil {
		return "", err
	}
	if dir {
		if ents, err := os.ReadDir(p); err == nil && len(ents) > 0 {
			return "", fmt.Errorf("%s is not empty", path)
		}
	}
	return p, nil
}

// check applies the rules common to every output: p as given, res with
// the symbolic links of its parents resolved.
func (o *OutputRules) check(p, res string, dir bool) error {
	if err := checkNode(p, dir); err != nil {
		return err
	}
	if o.RecipeDir != "" {
		rd, err := resolveExisting(o.RecipeDir)
		if err != nil {
			return err
		}
		switch {
		case res == rd:
			return fmt.Errorf("%s is the recipe directory; dsbuild does not write over a recipe", p)
		case inside(rd, res):
			return fmt.Errorf("%s holds the recipe directory %s; dsbuild does not write over a recipe", p, o.RecipeDir)
		}
	}
	if o.Store != "" {
		sd, err := resolveExisting(o.Store)
		if err != nil {
			return err
		}
		if inside(res, sd) || inside(sd, res) {
			return fmt.Errorf("%s overlaps the store %s; outputs go outside the store", p, o.Store)
		}
	}
	for _, c := range o.Claims {
		cd, err := resolveExisting(c.Path)
		if err != nil {
			return err
		}
		if inside(res, cd) || inside(cd, res) {
			return fmt.Errorf("%s overlaps %s, used by %s", p, c.Path, c.By)
		}
	}
	return nil
}

// checkNode refuses what is at p when it is not what an output may
// replace or fill: a symbolic link (even to a directory), a device, a
// socket, a pipe; a file where a directory is wanted and the reverse.
func checkNode(p string, dir bool) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; dsbuild does not replace or write through links", p)
	case dir && !m.IsDir():
		return fmt.Errorf("%s exists and is not a directory (%s)", p, describe(m))
	case !dir && !m.IsRegular():
		return fmt.Errorf("%s exists and is not a regular file (%s)", p, describe(m))
	}
	return nil
}

// CheckOutputFile refuses to write the file p (a lockfile) when something
// other than a regular file is there: a symbolic link is not replaced, a
// device not written.
func CheckOutputFile(p string) error {
	return checkNode(p, false)
}

func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a file"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a file: " + m.String()
}

// absIn returns p, relative to dir unless absolute, as a clean absolute
// path.
func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// inside reports whether p is dir or below it; both clean and absolute.
func inside(p, dir string) bool {
	if p == dir {
		return true
	}
	if dir == string(filepath.Separator) {
		return strings.HasPrefix(p, dir)
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// resolveParent returns the absolute path p with the symbolic links of its
// parent directories resolved; the last element stays as it is (checkNode
// looks at it with Lstat).
func resolveParent(p string) (string, error) {
	p = filepath.Clean(p)
	dir := filepath.Dir(p)
	if dir == p {
		return p, nil
	}
	rd, err := resolveExisting(dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(rd, filepath.Base(p)), nil
}

// resolveExisting resolves the symbolic links of the longest existing
// prefix of the absolute path p and appends the rest. A link that leads
// nowhere is an error: writing below it would create its target.
func resolveExisting(p string) (string, error) {
	p = filepath.Clean(p)
	var rest []string
	for {
		_, err := os.Lstat(p)
		if err == nil {
			r, err := filepath.EvalSymlinks(p)
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%s is a dangling symbolic link (or leads through one); dsbuild does not write through links", p)
			}
			if err != nil {
				return "", err
			}
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...), nil
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// HasOutputMarker reports whether dir holds dsbuild's OutputMarker: a
// regular file with dsbuild's text.
func HasOutputMarker(dir string) bool {
	p := filepath.Join(dir, OutputMarker)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(markerText)) {
		return false
	}
	b, err := os.ReadFile(p)
	return err == nil && bytes.Equal(b, []byte(markerText))
}

// replaceable says whether ReplaceDir may replace what is at dest: nothing,
// an empty directory, or a directory that dsbuild made.
func replaceable(dest string) (exists bool, err error) {
	if err := checkNode(dest, true); err != nil {
		return false, err
	}
	ents, err := os.ReadDir(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(ents) > 0 && !HasOutputMarker(dest) {
		return true, fmt.Errorf("%s exists and dsbuild did not make it (it has no %s file); dsbuild replaces only its own directories: move it away or choose another path", dest, OutputMarker)
	}
	return true, nil
}

// tempPrefix starts the names of the directories ReplaceDir makes beside
// dest; leftovers of a killed run are removed by the next.
func tempPrefix(dest string) string {
	return "." + filepath.Base(dest) + ".dsbuild-"
}

// ReplaceDir makes dest (a checked output directory) hold what fill writes
// into the empty directory it is given, atomically: the new directory is
// written beside dest and renamed into place, so a reader sees the old
// directory or the new one. dest must be absent, an empty directory or a
// directory that dsbuild made (OutputMarker), which is then removed; the
// new directory holds OutputMarker. Directories that a killed ReplaceDir
// left beside dest are removed first, when they are dsbuild's and no
// running ReplaceDir holds them.
func ReplaceDir(dest string, fill func(dir string) error) (err error) {
	parent := filepath.Dir(dest)
	if _, err := replaceable(dest); err != nil {
		return err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	sweepTemps(parent, tempPrefix(dest))
	tmp, err := os.MkdirTemp(parent, tempPrefix(dest)+"new-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp) // ours: made above
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700
		return err
	}
	unlock, err := writeMarker(tmp)
	if err != nil {
		return err
	}
	defer unlock()
	// fill gets an empty directory; its entries join the marker after.
	content := filepath.Join(tmp, OutputMarker+".fill")
	if err := os.Mkdir(content, 0o755); err != nil {
		return err
	}
	if err := fill(content); err != nil {
		return err
	}
	if err := moveUp(content, tmp); err != nil {
		return err
	}
	exists, err := replaceable(dest) // again: it may have changed meanwhile
	if err != nil {
		return err
	}
	if !exists {
		return os.Rename(tmp, dest)
	}
	if !HasOutputMarker(dest) { // an empty directory: nothing to keep
		if err := os.Remove(dest); err != nil {
			return err
		}
		return os.Rename(tmp, dest)
	}
	// A fresh name for the old directory (os.Rename does not replace a
	// directory, even an empty one).
	old, err := os.MkdirTemp(parent, tempPrefix(dest)+"old-*")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(dest, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Rename(old, dest) // put the old one back
		return err
	}
	return os.RemoveAll(old) // dsbuild's, by its marker
}

// moveUp moves the entries of dir into parent and removes dir.
func moveUp(dir, parent string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), OutputMarker) {
			return fmt.Errorf("the output holds %s: names starting with %s are dsbuild's", e.Name(), OutputMarker)
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(parent, e.Name())); err != nil {
			return err
		}
	}
	return os.Remove(dir)
}

// writeMarker writes OutputMarker into dir and holds a lock on it until
// unlock, so that a concurrent sweepTemps leaves dir alone.
func writeMarker(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, OutputMarker), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(markerText); err != nil {
		f.Close()
		return nil, err
	}
	lockFile(f)
	return func() { f.Close() }, nil
}

// SweepLeftovers removes what killed runs of ReplaceDir left beside the
// output directories of r's steps (PathUser outputs): directories that
// dsbuild made (they hold OutputMarker) and that no running ReplaceDir
// holds. It returns how many it removed; gc calls it for every recipe
// whose lockfile is a root of the store. Nothing unmarked is touched.
func SweepLeftovers(r *Recipe) int {
	n := 0
	for _, s := range r.Steps {
		pu, ok := s.Kind.(PathUser)
		if !ok {
			continue
		}
		for _, u := range pu.Paths(s) {
			if !u.Output || checkRel(u.Path) != nil {
				continue
			}
			dest := absIn(r.Dir, u.Path)
			n += sweepTemps(filepath.Dir(dest), tempPrefix(dest))
		}
	}
	return n
}

// sweepTemps removes directories named prefix* in parent that dsbuild
// made (they hold OutputMarker) and that no running ReplaceDir holds, and
// returns how many.
func sweepTemps(parent, prefix string) int {
	n := 0
	ents, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || e.Type()&fs.ModeSymlink != 0 || !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if !HasOutputMarker(dir) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, OutputMarker))
		if err != nil {
			continue
		}
		if tryLockFile(f) && os.RemoveAll(dir) == nil {
			n++
		}
		f.Close()
	}
	return n
}

// checkPathUses checks, when the recipe loads, the directories that steps
// name (PathUser): every output is a relative path inside the recipe
// directory, not the directory itself, and overlaps no other directory that
// a step reads or writes.
func checkPathUses(r *Recipe) hcl.Diagnostics {
	type use struct {
		PathUse
		step *Step
		abs  string
	}
	var uses []use
	for _, s := range r.Steps {
		pu, ok := s.Kind.(PathUser)
		if !ok {
			continue
		}
		for _, u := range pu.Paths(s) {
			if u.Path == "" && !u.Output {
				continue
			}
			uses = append(uses, use{u, s, absIn(r.Dir, u.Path)})
		}
	}
	var diags hcl.Diagnostics
	bad := func(u use, summary, detail string) {
		rg := u.step.Config.Range(u.Attr)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rg})
	}
	// An output spelled wrongly is reported as such and compared with
	// nothing (".", say, overlaps everything).
	valid := uses[:0]
	for _, u := range uses {
		if u.Output {
			if err := checkRel(u.Path); err != nil {
				bad(u, "Invalid output path", fmt.Sprintf("%s = %q: %v.", u.Attr, u.Path, err))
				continue
			}
		}
		valid = append(valid, u)
	}
	for i, u := range valid {
		if !u.Output {
			continue
		}
		for j, v := range valid {
			if i == j || v.Output && j < i || !(inside(u.abs, v.abs) || inside(v.abs, u.abs)) {
				continue // two outputs are reported once, at the first
			}
			verb := "reads"
			if v.Output {
				verb = "writes"
			}
			bad(u, "Overlapping output path", fmt.Sprintf("%s = %q overlaps %q, which %s %s (%s); an output directory must not be, hold or lie inside a directory that a step uses.", u.Attr, u.Path, v.Path, v.step.Addr, verb, v.Attr))
		}
	}
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		return a.Filename < b.Filename || a.Filename == b.Filename && a.Start.Byte < b.Start.Byte
	})
	return diags
}
