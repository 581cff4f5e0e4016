// Package cmdargs checks positional arguments and mistyped subcommands the
// same way in tokenctl and tokend: every mistake is an
// exitcode.UsageError (exit 2) with one line that says what to type.
package cmdargs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/exitcode"
)

// ExactArgs accepts exactly n arguments; usage is the command line to show,
// e.g. "tokenctl token show ID".
func ExactArgs(n int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			noun := "arguments"
			if n == 1 {
				noun = "argument"
			}
			return exitcode.Usagef("expected %d %s, got %d: %s", n, noun, len(args), usage)
		}
		return nil
	}
}

// MaxArgs accepts at most n arguments.
func MaxArgs(n int, usage string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return exitcode.Usagef("too many arguments (%q): %s", args[n], usage)
		}
		return nil
	}
}

// NoArgs accepts none; an extra word is most likely a mistyped subcommand,
// so it gets a suggestion when one is close.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Unknown(cmd, args[0])
	}
	return nil
}

// Unknown is the error for a word that names no subcommand of cmd, with
// "did you mean …?" when cobra finds a close one.
func Unknown(cmd *cobra.Command, word string) error {
	path := cmd.CommandPath()
	msg := fmt.Sprintf("unknown command %q for %q", word, path)
	return exitcode.Usagef("%s%s (see `%s --help`)", msg, DidYouMean(cmd, word), path)
}

// DidYouMean is "; did you mean X or Y?" naming the subcommands of cmd
// close to word, or "" when none is.
func DidYouMean(cmd *cobra.Command, word string) string {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, applied only by its own lookup
	}
	if s := cmd.SuggestionsFor(word); len(s) > 0 {
		return "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return ""
}

// Harden walks the tree under cmd so that usage mistakes anywhere exit 2: a
// group (a command with subcommands and nothing to run) given an unknown
// word says so, with a suggestion, instead of printing help and exiting 0;
// and a leaf's cobra argument check (cobra.ExactArgs and friends) becomes a
// UsageError. It covers groups other packages build, so each need not.
func Harden(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		Harden(c)
	}
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return Unknown(c, args[0])
			}
			return c.Help()
		}
		return
	}
	if validate := cmd.Args; validate != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := validate(c, args); err != nil {
				var ue *exitcode.UsageError
				if errors.As(err, &ue) {
					return err
				}
				return &exitcode.UsageError{Err: fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
			}
			return nil
		}
	}
}
