// Package auth holds `tokenctl auth`: login, logout, status, token and
// refresh, one file per verb.
package auth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

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
environment variable, the OS keyring (service "tokenctl", account = host),
then a plain file written only after ` + "`auth login --insecure-storage`" + `.`,
		Example: `  $ tokenctl auth login --host https://tokens.example.com --username alice
  $ tokenctl auth status
  $ tokenctl auth logout --revoke`,
		Annotations: map[string]string{cmdutil.AnnotationReportsExpiry: "true"},
	}
	cmd.AddCommand(
		NewCmdLogin(f, nil),
		NewCmdLogout(f, nil),
		NewCmdStatus(f, nil),
		NewCmdToken(f, nil),
		NewCmdRefresh(f, nil),
	)
	return cmd
}

// readLine reads one line from r without the line ending. It reads byte by
// byte so nothing after the line is consumed.
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

// clientWith returns a client for cred's host authenticated with cred
// itself, for the verbs that ask the server about the credential in hand.
func clientWith(f *cmdutil.Factory, cred *cmdutil.Credential) (*client.Client, error) {
	opts, err := f.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Token = cred.Token
	return client.New(opts)
}
