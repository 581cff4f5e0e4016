package cmdutil

import "github.com/tokenctl/tokenctl/internal/cmdargs"

// Argument checks for commands: each mistake is a UsageError (exit 2) that
// shows the command line to type. Shared with tokend through cmdargs.
var (
	ExactArgs = cmdargs.ExactArgs // ExactArgs(1, "tokenctl token show ID")
	MaxArgs   = cmdargs.MaxArgs   // MaxArgs(1, "tokenctl token create [NAME]")
	NoArgs    = cmdargs.NoArgs    // suggests a subcommand for a stray word
)
