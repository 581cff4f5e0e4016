package auth

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// LogoutOptions are the inputs of `auth logout`.
type LogoutOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	Revoke  bool
}

// NewCmdLogout returns `auth logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the stored credential for a host",
		Long: `Remove the stored credential for the selected host from wherever it lives
(the OS keyring or the plain file). With --revoke the token is also deleted on
the server first, so a copy elsewhere stops working too.

A credential from TOKENCTL_TOKEN cannot be removed by tokenctl: unset it.`,
		Example: `  $ tokenctl auth logout
  $ tokenctl auth logout --host https://tokens.example.com --revoke`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Revoke, "revoke", false, "also delete the token on the server")
	return cmd
}

func logoutRun(ctx context.Context, o *LogoutOptions) error {
	f := o.Factory
	cred, err := f.Credential()
	if err != nil {
		return err
	}
	if cred.Source == cmdutil.SourceEnv {
		return fmt.Errorf("the credential comes from the TOKENCTL_TOKEN environment variable: unset it to log out")
	}
	revoked := ""
	if o.Revoke {
		revoked, err = revoke(ctx, f, cred)
		if err != nil {
			return err
		}
	}
	if err := f.RemoveCredential(cred); err != nil {
		return fmt.Errorf("remove credential for %s: %w", cred.Host, err)
	}
	msg := fmt.Sprintf("Logged out of %s: removed the token from %s", cred.Host, cred.Location)
	if revoked != "" {
		msg += "; " + revoked
	}
	fmt.Fprintln(o.IO.ErrOut, msg)
	return nil
}

// revoke deletes the credential's token on the server. A token the server
// already rejects is as good as revoked, so logout goes on.
func revoke(ctx context.Context, f *cmdutil.Factory, cred *cmdutil.Credential) (string, error) {
	cl, err := clientWith(f, cred)
	if err != nil {
		return "", err
	}
	u, err := cl.User(ctx)
	if client.IsStatus(err, http.StatusUnauthorized) {
		return "the server already rejects it", nil
	}
	if err != nil {
		return "", fmt.Errorf("revoke: %w (nothing was removed; retry, or log out without --revoke)", err)
	}
	if u.Token == nil {
		return "", fmt.Errorf("revoke: the server did not say which token this is (nothing was removed)")
	}
	if err := cl.DeleteToken(ctx, u.Token.ID); err != nil && !client.IsStatus(err, http.StatusNotFound) && !client.IsStatus(err, http.StatusUnauthorized) {
		return "", fmt.Errorf("revoke token %s: %w (nothing was removed; retry, or log out without --revoke)", u.Token.ID, err)
	}
	return fmt.Sprintf("revoked token %s (%s) on the server", u.Token.ID, u.Token.Name), nil
}
