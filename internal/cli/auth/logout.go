package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// LogoutOptions are the inputs of `auth logout`.
type LogoutOptions struct {
	IO            *iostreams.IOStreams
	Host          func() (string, error)
	Credential    func() (*cmdutil.Credential, error)
	Credentials   func() (*credential.Service, error)
	ClientOptions func() (client.Options, error)

	User   string
	Revoke bool
}

// NewCmdLogout returns `auth logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IOStreams, Host: f.Host, Credential: f.Credential, Credentials: f.Credentials, ClientOptions: f.ClientOptions}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Remove the stored credential for a host",
		Long: `Remove the stored credential of the active account for the selected host
(or of --user's) from wherever it lives (the OS keyring or the plain file).

A login token (one ` + "`auth login`" + ` minted with a password or --oidc) is
revoked on the server too: nobody else holds it. When the server cannot be
reached the credential is still removed, and a warning names the token's id
to delete later. A token added with --with-token is yours and stays valid,
and the message says so; --revoke deletes it as well (and then nothing is
removed unless the delete works).

When the active account logs out, another account of the host, if any,
becomes active.

A credential from TOKENCTL_TOKEN cannot be removed by tokenctl: unset it.`,
		Example: `  $ tokenctl auth logout
  $ tokenctl auth logout --user bob
  $ tokenctl auth logout --host https://tokens.example.com --revoke`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.User, "user", "u", "", "log out `USER` instead of the active account")
	cmd.Flags().BoolVar(&opts.Revoke, "revoke", false, "also delete a token added with --with-token on the server (login tokens always are)")
	return cmd
}

func logoutRun(ctx context.Context, o *LogoutOptions) error {
	svc, err := o.Credentials()
	if err != nil {
		return err
	}
	var cred *cmdutil.Credential
	if o.User != "" {
		host, err := o.Host()
		if err != nil {
			return err
		}
		if cred, err = svc.LookupUser(host, o.User); err != nil {
			var nf *credential.NotFoundError
			if errors.As(err, &nf) && nf.KeyringErr == nil {
				return cmdutil.UsageErrorf("%s is not logged in to %s%s", o.User, host, accountList(svc.Accounts(host)))
			}
			return err
		}
	} else {
		if cred, err = o.Credential(); err != nil {
			return err
		}
		if cred.Source == credential.SourceEnv {
			return fmt.Errorf("the credential comes from the TOKENCTL_TOKEN environment variable: unset it to log out")
		}
	}
	// What happens to the token on the server: --revoke deletes whatever
	// it is and stops the logout if it cannot; a login token tokenctl
	// minted is revoked anyway (nobody else holds it), and a failure only
	// warns, since the local credential must go either way; a token the
	// user brought (--with-token) stays.
	acct := svc.Account(cred.Host, cred.Username)
	server, warning := "", ""
	switch {
	case o.Revoke:
		if server, err = revoke(ctx, o.ClientOptions, cred); err != nil {
			return err
		}
	case isLoginToken(acct) && acct.Matches(cred.Token):
		revoked, w := revokeLoginToken(ctx, acct.TokenID, "the login token "+output.Sanitize(acct.TokenName), func(ctx context.Context) error {
			cl, err := clientFor(o.ClientOptions, cred.Token)
			if err != nil {
				return err
			}
			return cl.DeleteCurrentToken(ctx)
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err() // Ctrl-C: stop here, nothing removed
		case revoked:
			server = fmt.Sprintf("revoked its login token %s (id %s) on the server", output.Sanitize(acct.TokenName), acct.TokenID)
		case w == "":
			server = "its login token was already revoked or expired"
		default:
			warning = w
		}
	case acct.Matches(cred.Token) && acct.TokenID != "" && !isLoginToken(acct):
		server = fmt.Sprintf("token %s (id %s) stays valid on the server: it was added with --with-token, so it may be in use elsewhere (`tokenctl token delete %s`, or logout --revoke, deletes it)", output.Sanitize(acct.TokenName), acct.TokenID, acct.TokenID)
	default:
		server = "the token stays valid on the server (logout --revoke deletes it)"
	}
	now, err := svc.Remove(cred)
	if err != nil {
		return fmt.Errorf("remove credential for %s: %w", cred.Host, err)
	}
	msg := fmt.Sprintf("Logged out of %s: removed the token from %s", cred.Host, cred.Location)
	if cred.Username != "" {
		msg = fmt.Sprintf("Logged out of %s as %s: removed the token from %s", cred.Host, cred.Username, cred.Location)
	}
	if server != "" {
		msg += "; " + server
	}
	fmt.Fprintln(o.IO.ErrOut, msg)
	if warning != "" {
		fmt.Fprintln(o.IO.ErrOut, warning)
	}
	if now != nil && now.Username != cred.Username {
		fmt.Fprintf(o.IO.ErrOut, "The active account for %s is %s\n", cred.Host, now.Username)
	}
	return nil
}

// accountList is ": logged in are a, b" for an error message, or "".
func accountList(accounts []credential.Account) string {
	if len(accounts) == 0 {
		return ""
	}
	s := ": logged in are "
	for i, a := range accounts {
		if i > 0 {
			s += ", "
		}
		s += a.Username
	}
	return s
}

// revoke deletes the credential's token on the server. A token the server
// already rejects is as good as revoked, so logout goes on.
func revoke(ctx context.Context, clientOptions func() (client.Options, error), cred *cmdutil.Credential) (string, error) {
	cl, err := clientFor(clientOptions, cred.Token)
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
