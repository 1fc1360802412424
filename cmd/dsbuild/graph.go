package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"dsbuild/engine"
)

func newGraphCmd(g *globalFlags) *cobra.Command {
	rf := &recipeFlags{}
	var format string
	cmd := &cobra.Command{
		Use:   "graph [RECIPE]",
		Short: "Print the recipe's step graph as Graphviz DOT or Mermaid",
		Long: `Graph prints the DAG of the recipe's steps: a node per step, an edge per input
labelled with the input's name. Steps appear in build order.`,
		Example: `  dsbuild graph recipes/hello | dot -Tsvg > graph.svg
  dsbuild graph --format mermaid recipes/hello`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := loadRecipe(recipeDir(args), rf)
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				fmt.Fprint(cmd.OutOrStdout(), engine.DOT(r))
			case "mermaid":
				fmt.Fprint(cmd.OutOrStdout(), engine.Mermaid(r))
			default:
				return fmt.Errorf("--format %q: use dot or mermaid", format)
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}
