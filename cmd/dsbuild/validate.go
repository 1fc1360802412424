package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	cmd := &cobra.Command{
		Use:   "validate [RECIPE]",
		Short: "Check a recipe without building it",
		Long: `Validate loads the recipe and reports every problem it can find without
touching data: syntax, unknown kinds and attributes, wrong types, missing
required attributes, unknown references, duplicate names and cycles, each
with its file, line and a snippet of the recipe.`,
		Example: `  dsbuild validate recipes/hello`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadRecipe(recipeDir(args), rf)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d steps, valid\n", displayDir(r.Dir), len(r.Steps))
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
