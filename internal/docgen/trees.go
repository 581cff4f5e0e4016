package docgen

import (
	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/factory"
	"github.com/tokenctl/tokenctl/internal/cli/root"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/tokend"
)

// Trees returns the command trees docs are generated from: tokenctl first
// (its completions ship), then tokend. They are built with an empty
// environment so the output does not depend on who runs the generator.
func Trees() []*cobra.Command {
	ios, _, _, _ := iostreams.Test()
	g := &factory.Globals{}
	f := factory.New(ios, func(string) string { return "" }, g)
	trees := []*cobra.Command{root.NewCmdRoot(f, g), tokend.NewCmdRoot()}
	for _, t := range trees {
		// cobra adds these on Execute; add them now so they are documented.
		t.InitDefaultHelpCmd()
		t.InitDefaultCompletionCmd()
	}
	return trees
}
