package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/cobra"

	"dsbuild/cache"
	"dsbuild/engine"
)

func newFmtCmd(g *globalFlags) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [RECIPE...]",
		Short: "Rewrite recipe files in the canonical HCL layout",
		Long: `Fmt rewrites every *.hcl file of each RECIPE directory (default ".") in the
canonical layout (aligned equals signs, two-space indents). With --check it
changes nothing, lists the files that need formatting, and exits 1 if any do.
Files with syntax errors are reported and left alone.`,
		Example: `  dsbuild fmt recipes/hello
  dsbuild fmt --check recipes/*`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			var files []string
			for _, a := range args {
				if fi, err := os.Stat(a); err == nil && !fi.IsDir() {
					files = append(files, a)
					continue
				}
				m, err := filepath.Glob(filepath.Join(a, "*.hcl"))
				if err != nil {
					return err
				}
				if len(m) == 0 {
					return fmt.Errorf("%s: no *.hcl files", a)
				}
				files = append(files, m...)
			}
			sort.Strings(files)
			var unformatted []string
			bad := false
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				diags := engine.CheckSource(src, f) // size and nesting, before the parser
				if !diags.HasErrors() {
					_, diags = hclsyntax.ParseConfig(src, f, hcl.InitialPos)
				}
				if diags.HasErrors() {
					printDiags(nil, diags)
					bad = true
					continue
				}
				out := hclwrite.Format(src)
				if bytes.Equal(out, src) {
					continue
				}
				unformatted = append(unformatted, f)
				if !check {
					if err := engine.CheckOutputFile(f); err != nil { // a symlink is not replaced
						return err
					}
					if err := cache.WriteFileAtomic(f, out, 0o644); err != nil {
						return err
					}
				}
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			if bad {
				return &exitCodeError{code: exitError, err: fmt.Errorf("some files have syntax errors")}
			}
			if check && len(unformatted) > 0 {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d file(s) need formatting: run dsbuild fmt", len(unformatted))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "only list files that need formatting; exit 1 if any")
	return cmd
}
