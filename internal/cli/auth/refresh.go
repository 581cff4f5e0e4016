package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// RefreshOptions are the inputs of `auth refresh`.
type RefreshOptions struct {
	IO             *iostreams.IOStreams
	Credential     func() (*cmdutil.Credential, error)
	SaveCredential func(*cmdutil.Credential, string) error
	ClientOptions  func() (client.Options, error)
	Getenv         func(string) string
	Now            func() time.Time
}

// NewCmdRefresh returns `auth refresh`.
func NewCmdRefresh(f *cmdutil.Factory, runF func(context.Context, *RefreshOptions) error) *cobra.Command {
	opts := &RefreshOptions{IO: f.IOStreams, Credential: f.Credential, SaveCredential: f.SaveCredential, ClientOptions: f.ClientOptions, Getenv: f.Getenv, Now: nowFunc(f)}
	return &cobra.Command{
		Use:   "refresh",
		Short: "Rotate the login token and store the new secret in its place",
		Long: `Rotate the token tokenctl logs in with: the server issues a new secret for
the same token (same name, a fresh lifetime) and the old secret stops working.
The new secret replaces the old one where it lived (keyring or plain file).

With TOKENCTL_TOKEN set, the new secret is printed on stdout (masked under
GitHub Actions) and you must update the variable yourself.`,
		Example: `  $ tokenctl auth refresh
  $ TOKENCTL_TOKEN=$(TOKENCTL_TOKEN=$OLD tokenctl auth refresh)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return refreshRun(cmd.Context(), opts)
		},
	}
}

func refreshRun(ctx context.Context, o *RefreshOptions) error {
	cred, err := o.Credential()
	if err != nil {
		return err
	}
	cl, err := clientFor(o.ClientOptions, cred.Token)
	if err != nil {
		return err
	}
	u, err := cl.User(ctx)
	if client.IsStatus(err, http.StatusUnauthorized) {
		return &cmdutil.AuthError{Err: fmt.Errorf("credential for %s was rejected (expired or revoked), so it cannot be refreshed: run `tokenctl auth login --host %s`", cred.Host, cred.Host)}
	}
	if err != nil {
		return err
	}
	if u.Token == nil {
		return fmt.Errorf("the server did not say which token this is, so it cannot be rotated")
	}
	rotated, err := cl.RotateToken(ctx, u.Token.ID)
	if err != nil {
		return fmt.Errorf("rotate token %s: %w", u.Token.ID, err)
	}
	expires := timespec.Stamp(rotated.ExpiresAt, o.Now(), true)

	if cred.Source == cmdutil.SourceEnv {
		cmdutil.MaskSecret(o.IO.ErrOut, o.Getenv, rotated.Secret)
		fmt.Fprintln(o.IO.Out, rotated.Secret)
		fmt.Fprintf(o.IO.ErrOut, "Rotated token %s (%s), expires %s. The old secret no longer works: update TOKENCTL_TOKEN with the new one printed above.\n", rotated.ID, rotated.Name, expires)
		return nil
	}
	cred.Facts = &cmdutil.Facts{TokenID: rotated.ID, TokenName: rotated.Name, ExpiresAt: rotated.ExpiresAt}
	if err := o.SaveCredential(cred, rotated.Secret); err != nil {
		// The old secret is dead and the new one is not stored: say so
		// plainly rather than leave the user locked out without a clue.
		return fmt.Errorf("rotated token %s on %s, but could not store the new secret (%v); the old secret no longer works: run `tokenctl auth login --host %s` to log in again (and delete token %s with `tokenctl token delete %s`)",
			rotated.ID, cred.Host, err, cred.Host, rotated.ID, rotated.ID)
	}
	fmt.Fprintf(o.IO.ErrOut, "Refreshed the credential for %s: token %s (%s) now expires %s; stored in %s\n", cred.Host, rotated.ID, rotated.Name, expires, cred.Location)
	return nil
}
