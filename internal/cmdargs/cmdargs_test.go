package cmdargs

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/exitcode"
)

func tree() *cobra.Command {
	root := &cobra.Command{Use: "prog"}
	group := &cobra.Command{Use: "token"}
	noop := func(*cobra.Command, []string) error { return nil }
	group.AddCommand(
		&cobra.Command{Use: "list", RunE: noop, Args: NoArgs},
		&cobra.Command{Use: "show ID", RunE: noop, Args: ExactArgs(1, "prog token show ID")},
		&cobra.Command{Use: "create [NAME]", RunE: noop, Args: MaxArgs(1, "prog token create [NAME]")},
		&cobra.Command{Use: "legacy", RunE: noop, Args: cobra.ExactArgs(2)},
	)
	root.AddCommand(group)
	Harden(root)
	root.SilenceErrors, root.SilenceUsage = true, true
	return root
}

func TestEveryMistakeIsAUsageError(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tokn"}, "unknown command \"tokn\" for \"prog\"; did you mean token? (see `prog --help`)"},
		{[]string{"token", "lst"}, "unknown command \"lst\" for \"prog token\"; did you mean list? (see `prog token --help`)"},
		{[]string{"token", "zzzzzz"}, "unknown command \"zzzzzz\" for \"prog token\" (see `prog token --help`)"},
		{[]string{"token", "show"}, "expected 1 argument, got 0: prog token show ID"},
		{[]string{"token", "create", "a", "b"}, `too many arguments ("b"): prog token create [NAME]`},
		{[]string{"token", "list", "x"}, "unknown command \"x\" for \"prog token list\" (see `prog token list --help`)"},
		{[]string{"token", "legacy"}, "accepts 2 arg(s), received 0 (see `prog token legacy --help`)"},
	}
	for _, tt := range tests {
		root := tree()
		root.SetArgs(tt.args)
		err := root.Execute()
		var ue *exitcode.UsageError
		if !errors.As(err, &ue) || err.Error() != tt.want {
			t.Errorf("%v: err %v, want usage error %q", tt.args, err, tt.want)
		}
	}
}
