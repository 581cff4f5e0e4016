// Package tokend is the tokend command line: serve the token API and
// manage its users. Main is what cmd/tokend runs; Run is the same program
// with its environment passed in, so tests start a whole server in-process.
package tokend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/exitcode"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/version"
)

// usageErrorf is bad command-line input (exit 2); the short name keeps the
// many call sites readable.
var usageErrorf = exitcode.Usagef

// Main runs tokend with the process's arguments and environment and returns
// the exit code. SIGINT and SIGTERM shut the server down gracefully.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if err == nil {
		return exitcode.OK
	}
	fmt.Fprintln(os.Stderr, "tokend: "+err.Error())
	if errors.Is(err, iostreams.ErrInterrupted) {
		return exitcode.Interrupted // Ctrl-C at a prompt, as shells report SIGINT
	}
	var ue *exitcode.UsageError
	if errors.As(err, &ue) {
		return exitcode.Usage
	}
	return exitcode.Error
}

// env is what a command may use of the outside world.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Run executes one tokend command line (args exclude the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	_, err := root.ExecuteContextC(ctx)
	return err
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tokend",
		Short: "The token API server for tokenctl",
		Long: `tokend serves token API v1 (docs/openapi.yaml): users create, list, rotate
and delete personal access tokens over HTTP. Its users are managed here with
"tokend user"; data lives in a SQLite file or a PostgreSQL database.`,
		Example: `  printf '%s\n' "$PW" | tokend user add alice --database ./tokend.db
  tokend serve --addr 127.0.0.1:8080 --database ./tokend.db
  tokend serve --dev   # try it out: a throwaway dev user and the login line to paste`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("tokend {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitcode.UsageError{Err: err}
	})
	root.AddCommand(newServeCmd(e), newUserCmd(e))
	root.AddCommand(newScopeCmd(e))
	root.AddCommand(newTrustCmd(e))
	root.AddCommand(newSSOCmd(e))
	root.AddCommand(newWebhookCmd(e))
	root.AddCommand(newMigrateCmd(e))
	cmdargs.Harden(root) // a mistyped command at any level: "did you mean …?", exit 2
	return root
}

// NewCmdRoot returns tokend's command tree with an empty environment and
// discarded streams, for walking rather than running: the docs generator
// writes man pages and the command reference from it.
func NewCmdRoot() *cobra.Command {
	return newRootCmd(&env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
}
