package docgen

import "github.com/spf13/cobra"

// allCommands lists c and every available command under it, the set the man
// page generator documents.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		out = append(out, allCommands(sub)...)
	}
	return out
}
