package tokend

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every tokend command an operator can reach explains itself: a one-line
// Short, a Long that says what it does and what to know, and an Example.
func TestEveryCommandHasShortLongAndExample(t *testing.T) {
	root := newRootCmd(&env{getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			// help and completion are cobra's own.
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
		path := c.CommandPath()
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%s has no Short", path)
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%s has no Long", path)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", path)
		}
	}
	walk(root)
}
