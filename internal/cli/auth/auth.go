// Package auth holds `tokenctl auth`: login, logout, status, token and
// refresh, one file per verb.
package auth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
)

// NewCmdAuth returns the `auth` command group.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Log in, check and manage tokenctl's own credential",
		Long: `Log in to a token API server and manage the credential tokenctl uses.

The credential is found in this order, first hit wins: the TOKENCTL_TOKEN
environment variable, then the host's active account, whose token lives in the
OS keyring (service "tokenctl", account user@host) or, only after
` + "`auth login --insecure-storage`" + `, in a plain file.

Several users can be logged in to one host; one of them is active. ` + "`auth switch`" + `
changes which.`,
		Example: `  $ tokenctl auth login --host https://tokens.example.com --username alice
  $ tokenctl auth status
  $ tokenctl auth switch --user bob
  $ tokenctl auth logout --revoke`,
		Annotations: map[string]string{cmdutil.AnnotationReportsExpiry: "true"},
	}
	cmd.AddCommand(
		NewCmdLogin(f, nil),
		NewCmdLogout(f, nil),
		NewCmdStatus(f, nil),
		NewCmdToken(f, nil),
		NewCmdRefresh(f, nil),
		NewCmdSwitch(f, nil),
	)
	return cmd
}

// nowFunc is f's clock, or the real one when f has none (tests).
func nowFunc(f *cmdutil.Factory) func() time.Time {
	if f.Now != nil {
		return f.Now
	}
	return time.Now
}

// readLine reads one line from r without the line ending. Its buffer is
// kept small (bufio's minimum, 16 bytes), so little is read past the line.
func readLine(r io.Reader, what string) (string, error) {
	br := bufio.NewReaderSize(r, 1)
	line, err := br.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s on stdin", what)
		}
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return "", fmt.Errorf("empty %s on stdin", what)
	}
	return line, nil
}

// clientFor returns a client for the selected host authenticated with
// token, for the verbs that ask the server about a credential in hand.
func clientFor(clientOptions func() (client.Options, error), token string) (*client.Client, error) {
	opts, err := clientOptions()
	if err != nil {
		return nil, err
	}
	opts.Token = token
	return client.New(opts)
}

// selectedHost is the host a command works on; without one, the error says
// to pass --host (these commands need no credential to know it).
func selectedHost(host func() (string, error)) (string, error) {
	h, err := host()
	if err != nil {
		var ae *cmdutil.AuthError
		if errors.As(err, &ae) {
			return "", cmdutil.UsageErrorf("no host: pass --host URL (or set TOKENCTL_HOST)")
		}
		return "", err
	}
	return h, nil
}
