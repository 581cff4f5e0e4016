package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// LoginOptions are the inputs of `auth login`.
type LoginOptions struct {
	IO              *iostreams.IOStreams
	Factory         *cmdutil.Factory
	Hostname        func() (string, error)
	Username        string
	PasswordStdin   bool
	WithToken       bool
	ExpiresIn       string
	InsecureStorage bool

	expiresIn time.Duration
}

// NewCmdLogin returns `auth login`. runF replaces the run function in tests
// of flag handling.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IOStreams, Factory: f, Hostname: os.Hostname}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a token API server",
		Long: `Log in to a token API server and store a personal access token for it.

With --username, the password is read from a no-echo prompt, or as one line of
stdin with --password-stdin. It is exchanged (HTTP Basic) for a token named
tokenctl@<this machine's hostname> that expires after --expires-in; only that
token is stored, the password is never written anywhere.

With --with-token, a token is read from stdin (without echo on a terminal),
checked locally (a mistyped one fails at once) and with the server, then
stored.

The token goes to the OS keyring. When no keyring is usable, login fails and
says what to do; --insecure-storage stores it in a plain file (mode 0600)
instead. No flag takes a secret as its value.`,
		Example: `  $ tokenctl auth login --host https://tokens.example.com --username alice
  $ printf '%s\n' "$PASSWORD" | tokenctl auth login --host https://tokens.example.com --username ci --password-stdin
  $ tokenctl auth login --host https://tokens.example.com --with-token < token.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Username, "username", "u", "", "log in as `USER` with a password")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password as one line of stdin")
	fl.BoolVar(&opts.WithToken, "with-token", false, "read a personal access token from stdin")
	fl.StringVar(&opts.ExpiresIn, "expires-in", "90d", "lifetime of the login token as a `DURATION` of m, h, d, w (e.g. 90d)")
	fl.BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the token in a plain file instead of the OS keyring")
	return cmd
}

func (o *LoginOptions) validate() error {
	switch {
	case o.WithToken && o.Username != "":
		return cmdutil.UsageErrorf("--with-token and --username cannot be used together")
	case o.WithToken && o.PasswordStdin:
		return cmdutil.UsageErrorf("--with-token and --password-stdin cannot be used together")
	case o.PasswordStdin && o.Username == "":
		return cmdutil.UsageErrorf("--password-stdin needs --username USER")
	case !o.WithToken && o.Username == "" && !o.IO.CanPrompt():
		return cmdutil.UsageErrorf("not a terminal: pass --username USER --password-stdin, or --with-token, with the secret on stdin")
	case !o.WithToken && !o.PasswordStdin && o.Username != "" && !o.IO.CanPrompt():
		return cmdutil.UsageErrorf("not a terminal, so the password cannot be prompted for: pass --password-stdin and send it on stdin")
	}
	d, err := timespec.ParseDuration(o.ExpiresIn)
	if err != nil {
		return cmdutil.UsageErrorf("invalid --expires-in: %v", err)
	}
	if d < api.MinLifetime {
		return cmdutil.UsageErrorf("invalid --expires-in %s: the shortest lifetime is 1m", o.ExpiresIn)
	}
	o.expiresIn = d
	return nil
}

func loginRun(ctx context.Context, o *LoginOptions) error {
	f := o.Factory
	host, err := f.Host()
	if err != nil {
		var ae *cmdutil.AuthError
		if errors.As(err, &ae) {
			return cmdutil.UsageErrorf("no host: pass --host URL (or set TOKENCTL_HOST)")
		}
		return err
	}
	st, err := f.CredentialStore()
	if err != nil {
		return err
	}
	source := cmdutil.SourceKeyring
	if o.InsecureStorage {
		source = cmdutil.SourceFile
	}
	// Find out whether the keyring works before sending anything, so no
	// token is minted that could not be stored. Bad input is reported
	// first, though: it needs no keyring to be fixed.
	probeKeyring := func() error {
		if source != cmdutil.SourceKeyring {
			return nil
		}
		if _, err := st.Keyring.Get(host); err != nil && !errors.Is(err, credential.ErrNotFound) {
			return err
		}
		return nil
	}
	copts, err := f.ClientOptions()
	if err != nil {
		return err
	}

	var (
		tok      string
		username string
		expires  time.Time
		name     string
	)
	if o.WithToken {
		if o.IO.CanPrompt() {
			// On a terminal, read without echo: the token must not sit
			// on the screen or in a terminal's scrollback.
			fmt.Fprint(o.IO.ErrOut, "Paste your token: ")
			tok, err = o.IO.ReadPassword()
			fmt.Fprintln(o.IO.ErrOut)
			tok = strings.TrimSpace(tok)
			if err == nil && tok == "" {
				err = errors.New("empty token")
			}
		} else {
			tok, err = readLine(o.IO.In, "token")
		}
		if err != nil {
			return cmdutil.UsageErrorf("--with-token: %v", err)
		}
		if _, err := secret.Parse(tok); err != nil {
			return cmdutil.UsageErrorf("the token on stdin is not a valid token (mistyped or truncated?): nothing was sent")
		}
		if err := probeKeyring(); err != nil {
			return err
		}
		copts.Token = tok
		cl, err := client.New(copts)
		if err != nil {
			return err
		}
		u, err := cl.User(ctx)
		if client.IsStatus(err, http.StatusUnauthorized) {
			return &cmdutil.AuthError{Err: fmt.Errorf("%s rejected the token (expired, revoked or from another server)", host)}
		}
		if err != nil {
			return err
		}
		username = u.Username
		if u.Token != nil {
			expires, name = u.Token.ExpiresAt, u.Token.Name
		}
	} else {
		username = o.Username
		if username == "" {
			fmt.Fprint(o.IO.ErrOut, "Username: ")
			if username, err = readLine(o.IO.In, "username"); err != nil {
				return err
			}
		}
		password, err := o.password()
		if err != nil {
			return err
		}
		if err := probeKeyring(); err != nil {
			return err
		}
		copts.Username, copts.Password = username, password
		cl, err := client.New(copts)
		if err != nil {
			return err
		}
		secs := int64(o.expiresIn / time.Second)
		created, err := cl.CreateToken(ctx, api.CreateTokenRequest{
			Name:             loginTokenName(o.Hostname),
			Description:      "created by tokenctl auth login",
			ExpiresInSeconds: &secs,
		}, "")
		if client.IsStatus(err, http.StatusUnauthorized) {
			return &cmdutil.AuthError{Err: fmt.Errorf("wrong username or password for %s", host)}
		}
		if err != nil {
			return fmt.Errorf("create login token: %w", err)
		}
		tok, expires, name = created.Secret, created.ExpiresAt, created.Name
		defer func() {
			// A token that could not be stored is useless and must not
			// linger: delete it with its own secret, best effort.
			if tok != "" {
				copts.Username, copts.Password, copts.Token = "", "", created.Secret
				if c2, err := client.New(copts); err == nil {
					_ = c2.DeleteToken(context.WithoutCancel(ctx), created.ID)
				}
			}
		}()
	}

	cred := &cmdutil.Credential{Host: host, Source: source}
	if err := f.SaveCredential(cred, tok); err != nil {
		return fmt.Errorf("store credential: %w", err)
	}
	tok = "" // stored: keep it

	if cfg, err := f.Config(); err == nil {
		if _, err := cfg.SetHostIfEmpty(host); err != nil {
			fmt.Fprintf(o.IO.ErrOut, "warning: could not record the host in %s: %v\n", cfg.Path(), err)
		} else if ph := cfg.FileValue("host"); ph != host && f.Getenv("TOKENCTL_HOST") == "" {
			fmt.Fprintf(o.IO.ErrOut, "note: profile %q uses %s; pass --host %s to use this login, or run `tokenctl config set host %s`\n", cfg.Profile(), ph, host, host)
		}
	}
	msg := fmt.Sprintf("Logged in to %s as %s", host, username)
	if name != "" && !expires.IsZero() {
		msg += fmt.Sprintf(" with token %s (expires %s)", name, expires.UTC().Format("2006-01-02"))
	}
	msg += "; stored in " + cred.Location
	fmt.Fprintln(o.IO.ErrOut, msg)
	if f.Getenv(credential.EnvToken) != "" {
		fmt.Fprintf(o.IO.ErrOut, "note: %s is set and takes precedence over the stored token until you unset it\n", credential.EnvToken)
	}
	return nil
}

func (o *LoginOptions) password() (string, error) {
	if o.PasswordStdin {
		p, err := readLine(o.IO.In, "password")
		if err != nil {
			return "", cmdutil.UsageErrorf("--password-stdin: %v", err)
		}
		return p, nil
	}
	fmt.Fprint(o.IO.ErrOut, "Password: ")
	p, err := o.IO.ReadPassword()
	fmt.Fprintln(o.IO.ErrOut)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if p == "" {
		return "", cmdutil.UsageErrorf("empty password")
	}
	return p, nil
}

// loginTokenName is "tokenctl@<hostname>", cut to the server's name limit
// (a long FQDN must not make login fail).
func loginTokenName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil || strings.TrimSpace(h) == "" {
		h = "unknown-host"
	}
	name := "tokenctl@" + strings.TrimSpace(h)
	if len(name) > api.MaxNameLen {
		name = name[:api.MaxNameLen]
	}
	return name
}
