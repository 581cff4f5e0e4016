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
	"github.com/tokenctl/tokenctl/internal/config"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// DefaultLoginLifetime is how long the token minted by a password login
// lives unless --expires-in or the server (GET /v1/server) says otherwise;
// it is cut to the server's maximum.
const DefaultLoginLifetime = "90d"

// LoginOptions are the inputs of `auth login`.
type LoginOptions struct {
	IO            *iostreams.IOStreams
	Host          func() (string, error)
	ClientOptions func() (client.Options, error)
	Credentials   func() (*credential.Service, error)
	Config        func() (*config.Config, error)
	Getenv        func(string) string
	Hostname      func() (string, error)
	Now           func() time.Time

	Username        string
	PasswordStdin   bool
	WithToken       bool
	ExpiresIn       string
	InsecureStorage bool
	OIDC            cmdutil.OIDC
	// Web signs in through the browser and the server's SSO provider.
	Web bool
	// OpenBrowser opens a URL in a browser; nil on a headless machine,
	// where --web only prints it.
	OpenBrowser func(url string) error
	// Timings of a --web sign-in, filled as it goes.
	Timings LoginTimings

	expiresIn    time.Duration
	expiresInSet bool
}

// NewCmdLogin returns `auth login`. runF replaces the run function in tests
// of flag handling.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{
		IO:            f.IOStreams,
		Host:          f.Host,
		ClientOptions: f.ClientOptions,
		Credentials:   f.Credentials,
		Config:        f.Config,
		Getenv:        f.Getenv,
		Hostname:      os.Hostname,
		Now:           nowFunc(f),
		OpenBrowser:   browserOpener(f.Getenv),
	}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a token API server",
		Long: `Log in to a token API server and store a personal access token for it.

With --username, the password is read from a no-echo prompt, or as one line of
stdin with --password-stdin. It is exchanged (HTTP Basic) for a token named
tokenctl@<this machine's hostname> that expires after --expires-in; only that
token is stored, the password is never written anywhere. Without
--expires-in the lifetime is what the server says suits a login (GET
/v1/server), else 90 days cut to the server's maximum; an --expires-in
longer than the server allows is refused before the password is sent.

With --with-token, a token is read from stdin (without echo on a terminal),
checked locally (a mistyped one fails at once) and with the server, then
stored.

Credentials are kept per host and user: logging in as another user keeps the
earlier account and makes the new one active (see ` + "`tokenctl auth switch`" + `).
Logging in again as the same user revokes the login token it replaces.

The token goes to the OS keyring. When no keyring is usable, login fails and
says what to do; --insecure-storage stores it in a plain file (mode 0600)
instead. No flag takes a secret as its value.

With --web, sign in through the browser and the organisation's identity
provider (the server's "tokend sso"): tokenctl shows a one-time code and a
URL, opens the browser ($BROWSER, or the desktop's; on a machine without
one it only prints them, so open the URL anywhere), and waits while you
confirm the code and sign in. The login token is then stored as a password
login's is. Ctrl-C stops it with nothing stored.

With --oidc (or --oidc-token-file PATH / --oidc-token-env NAME) the CI
job's or workload's OIDC identity token is traded for a token, which is
stored as with --with-token. The server's trust policy decides its user,
scopes and longest lifetime (--expires-in, when given, asks for less). In
a CI job prefer ` + "`token exec --oidc`" + `, which needs no storage and deletes
the token when the command ends.`,
		Example: `  $ tokenctl auth login --host https://tokens.example.com --web
  $ tokenctl auth login --host https://tokens.example.com --username alice
  $ printf '%s\n' "$PASSWORD" | tokenctl auth login --host https://tokens.example.com --username ci --password-stdin
  $ tokenctl auth login --host https://tokens.example.com --with-token < token.txt
  $ tokenctl auth login --host https://tokens.example.com --oidc-token-file /var/run/secrets/tokens/tokend --insecure-storage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.expiresInSet = cmd.Flags().Changed("expires-in")
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
	fl.BoolVar(&opts.Web, "web", false, "sign in through the browser and the server's identity provider (SSO)")
	fl.StringVar(&opts.ExpiresIn, "expires-in", "", "lifetime of the login token as a `DURATION` of m, h, d, w (default: the server's login lifetime, else 90d cut to the server's maximum)")
	fl.BoolVar(&opts.InsecureStorage, "insecure-storage", false, "store the token in a plain file instead of the OS keyring")
	cmdutil.AddOIDCFlags(cmd, &opts.OIDC)
	return cmd
}

func (o *LoginOptions) validate() error {
	oidc := o.OIDC.Active() || o.OIDC.Audience != ""
	switch {
	case o.Web && (oidc || o.WithToken || o.Username != "" || o.PasswordStdin):
		return cmdutil.UsageErrorf("--web cannot be used with --oidc, --with-token, --username or --password-stdin: it is a way to log in of its own")
	case o.Web:
	case oidc && (o.WithToken || o.Username != "" || o.PasswordStdin):
		return cmdutil.UsageErrorf("--oidc cannot be used with --with-token, --username or --password-stdin: it is a way to log in of its own")
	case oidc:
		if err := o.OIDC.Validate(); err != nil {
			return err
		}
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
	if o.ExpiresIn == "" {
		o.ExpiresIn, o.expiresInSet = DefaultLoginLifetime, false
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

// login is what either flow obtained: a token not stored yet, whose user
// and facts are known. discard deletes a minted token that could not be
// stored; it is nil when the token is the user's own (--with-token).
type login struct {
	host     string
	token    string
	username string
	facts    credential.Facts
	discard  func()
}

func loginRun(ctx context.Context, o *LoginOptions) error {
	host, err := selectedHost(o.Host)
	if err != nil {
		return err
	}
	svc, err := o.Credentials()
	if err != nil {
		return err
	}
	source := credential.SourceKeyring
	if o.InsecureStorage {
		source = credential.SourceFile
	}
	copts, err := o.ClientOptions()
	if err != nil {
		return err
	}
	// Bad input is reported first (it needs no keyring to be fixed); then
	// the storage is checked before anything is sent, so no token is
	// minted that could not be stored.
	ready := func() error { return svc.Usable(source) }
	var l *login
	switch {
	case o.Web:
		l, err = o.withWeb(ctx, host, copts, ready)
	case o.OIDC.Active():
		l, err = o.withOIDC(ctx, host, copts, ready)
	case o.WithToken:
		l, err = o.withToken(ctx, host, copts, ready)
	default:
		l, err = o.withPassword(ctx, host, copts, ready)
	}
	if err != nil {
		return err
	}
	if err := o.store(ctx, svc, source, copts, l); err != nil {
		return err
	}
	if o.Web {
		o.Timings.Stored = o.Now()
	}
	return nil
}

// withToken reads a token from stdin, checks it locally and asks the
// server whose it is.
func (o *LoginOptions) withToken(ctx context.Context, host string, copts client.Options, ready func() error) (*login, error) {
	var tok string
	var err error
	if o.IO.CanPrompt() {
		// On a terminal, read without echo: the token must not sit on the
		// screen or in a terminal's scrollback.
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
		// %w keeps Ctrl-C (iostreams.ErrInterrupted) an interrupt: exit 130.
		return nil, cmdutil.UsageErrorf("--with-token: %w", err)
	}
	if _, err := secret.Parse(tok); err != nil {
		// Exit 4 like a malformed TOKENCTL_TOKEN: a credential was refused.
		return nil, &cmdutil.AuthError{Err: errors.New("the token on stdin is not a valid token (mistyped or truncated?): nothing was sent")}
	}
	if err := ready(); err != nil {
		return nil, err
	}
	copts.Token = tok
	cl, err := client.New(copts)
	if err != nil {
		return nil, err
	}
	u, err := cl.User(ctx)
	if client.IsStatus(err, http.StatusUnauthorized) {
		return nil, &cmdutil.AuthError{Err: fmt.Errorf("%s rejected the token (expired, revoked or from another server)", host)}
	}
	if err != nil {
		return nil, err
	}
	l := &login{host: host, token: tok, username: u.Username}
	if u.Token != nil {
		l.facts = credential.Facts{TokenID: u.Token.ID, TokenName: u.Token.Name, ExpiresAt: u.Token.ExpiresAt}
	}
	return l, nil
}

// withOIDC trades the identity token for a token. It is stored like one
// given with --with-token, but nobody else holds it, so a later login
// revokes it as it does a password login's token.
func (o *LoginOptions) withOIDC(ctx context.Context, host string, copts client.Options, ready func() error) (*login, error) {
	id, err := o.OIDC.IdentityToken(ctx, copts, o.Getenv)
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		return nil, err
	}
	var req api.ExchangeRequest
	if o.expiresInSet {
		req.ExpiresInSeconds = client.ExpiresIn(o.expiresIn)
	}
	et, err := cmdutil.Trade(ctx, copts, id, req)
	if err != nil {
		return nil, err
	}
	return &login{
		host:     host,
		token:    et.Secret,
		username: et.User.Username,
		facts:    credential.Facts{TokenID: et.ID, TokenName: et.Name, ExpiresAt: et.ExpiresAt, LoginToken: true},
		discard: func() {
			if c, err := clientWithToken(copts, et.Secret); err == nil {
				_ = c.DeleteCurrentToken(context.WithoutCancel(ctx))
			}
		},
	}, nil
}

// withPassword exchanges the user's password for a new login token.
func (o *LoginOptions) withPassword(ctx context.Context, host string, copts client.Options, ready func() error) (*login, error) {
	username := o.Username
	if username == "" {
		// Only on a terminal (validate): Ctrl-C must stop it at once.
		var err error
		username, err = o.IO.Prompt(ctx, "Username: ")
		switch {
		case errors.Is(err, iostreams.ErrInterrupted):
			return nil, err
		case err != nil:
			return nil, cmdutil.UsageErrorf("no username given: pass --username USER")
		case username == "":
			return nil, cmdutil.UsageErrorf("empty username: pass --username USER")
		}
	}
	password, err := o.password()
	if err != nil {
		return nil, err
	}
	if err := ready(); err != nil {
		return nil, err
	}
	life, flag, err := o.loginLifetime(ctx, host, copts)
	if err != nil {
		return nil, err
	}
	copts.Username, copts.Password = username, password
	cl, err := client.New(copts)
	if err != nil {
		return nil, err
	}
	created, err := cl.CreateToken(ctx, api.CreateTokenRequest{
		Name:             loginTokenName(o.Hostname),
		Description:      "created by tokenctl auth login",
		ExpiresInSeconds: client.ExpiresIn(life),
	}, "")
	if client.IsStatus(err, http.StatusUnauthorized) {
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Problem != nil && strings.Contains(ae.Problem.Detail, "--web") {
			return nil, &cmdutil.AuthError{Err: fmt.Errorf("%s does not take passwords; sign in through the browser: tokenctl auth login --web --host %s", host, host)}
		}
		return nil, &cmdutil.AuthError{Err: fmt.Errorf("wrong username or password for %s", host)}
	}
	if err != nil {
		return nil, cmdutil.NameLifetimeFlag(fmt.Errorf("create login token: %w", err), cmdutil.LifetimeFlags{ExpiresIn: flag})
	}
	return &login{
		host:     host,
		token:    created.Secret,
		username: username,
		facts:    credential.Facts{TokenID: created.ID, TokenName: created.Name, ExpiresAt: created.ExpiresAt, LoginToken: true},
		discard: func() {
			// A token that could not be stored is useless and must not
			// linger: delete it with its own secret, best effort.
			if c, err := clientWithToken(copts, created.Secret); err == nil {
				_ = c.DeleteToken(context.WithoutCancel(ctx), created.ID)
			}
		},
	}, nil
}

// loginLifetime is how long the password login's token is asked to live,
// and the flag text to name if the server refuses it. The server's limits
// (GET /v1/server) decide the default: its login default, else
// DefaultLoginLifetime cut to its maximum; an --expires-in over the
// maximum is refused here, naming the flag, before the password is sent.
// A server without the endpoint (404) gets --expires-in or
// DefaultLoginLifetime as before, and its refusal names the flag too.
func (o *LoginOptions) loginLifetime(ctx context.Context, host string, copts client.Options) (time.Duration, string, error) {
	life, flag := o.expiresIn, "--expires-in "+o.ExpiresIn
	if !o.expiresInSet {
		flag += " (the default)"
	}
	// No credential: the limits are public. One attempt: an address the
	// failed-login limit blocks gets 429 here too, and the login must
	// say so at once (see SignInLimitedError), not wait and retry.
	copts.MaxAttempts = 1
	cl, err := client.New(copts)
	if err != nil {
		return 0, "", err
	}
	info, err := cl.ServerInfo(ctx)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae):
		return life, flag, nil // an older server: it has the last word
	case err != nil:
		return 0, "", err
	}
	if !info.PasswordLogin {
		return 0, "", &cmdutil.AuthError{Err: fmt.Errorf("%s does not take passwords; sign in through the browser: tokenctl auth login --web --host %s", host, host)}
	}
	max := time.Duration(info.MaxTokenLifetimeSeconds) * time.Second
	switch {
	case o.expiresInSet && max > 0 && life > max:
		return 0, "", cmdutil.UsageErrorf("invalid --expires-in %s: %s allows tokens of at most %s; pass --expires-in %s or less",
			o.ExpiresIn, host, timespec.FormatDuration(max), timespec.FormatDuration(max))
	case o.expiresInSet:
		return life, flag, nil
	case info.DefaultLoginLifetimeSeconds > 0:
		life = time.Duration(info.DefaultLoginLifetimeSeconds) * time.Second
	}
	if max > 0 && life > max {
		life = max
	}
	return life, "--expires-in " + timespec.FormatDuration(life) + " (the server's default)", nil
}

// store is the end both flows share: store the credential, revoke the login
// token it replaced, remember the host and say what happened.
func (o *LoginOptions) store(ctx context.Context, svc *credential.Service, source string, copts client.Options, l *login) error {
	cred := &credential.Credential{Host: l.host, Username: l.username, Source: source, Facts: &l.facts}
	others := len(svc.Accounts(l.host))
	replaced, err := svc.Save(cred, l.token)
	if err != nil && cred.Token == "" {
		if l.discard != nil {
			l.discard()
		}
		return fmt.Errorf("store credential: %w", err)
	}
	if err != nil {
		// Stored, but not recorded: the login works, the expiry warning
		// and account list will not know about it.
		fmt.Fprintf(o.IO.ErrOut, "warning: %v\n", err)
	}
	revoked := o.revokeReplaced(ctx, copts, l, replaced)

	if cfg, err := o.Config(); err == nil {
		if _, err := cfg.SetHostIfEmpty(l.host); err != nil {
			fmt.Fprintf(o.IO.ErrOut, "warning: could not record the host in %s: %v\n", cfg.Path(), err)
		} else if ph := cfg.FileValue("host"); ph != l.host && o.Getenv("TOKENCTL_HOST") == "" {
			fmt.Fprintf(o.IO.ErrOut, "note: profile %q uses %s; pass --host %s to use this login, or run `tokenctl config set host %s`\n", cfg.Profile(), ph, l.host, l.host)
		}
	}
	msg := fmt.Sprintf("Logged in to %s as %s", l.host, l.username)
	if l.facts.TokenName != "" && !l.facts.ExpiresAt.IsZero() {
		msg += fmt.Sprintf(" with token %s, expires %s", l.facts.TokenName, timespec.Stamp(l.facts.ExpiresAt, o.Now(), true))
	}
	msg += "; stored in " + cred.Location
	fmt.Fprintln(o.IO.ErrOut, msg)
	if revoked != "" {
		fmt.Fprintln(o.IO.ErrOut, revoked)
	}
	if replaced == nil && others > 0 {
		fmt.Fprintf(o.IO.ErrOut, "%s is now the active account for %s; the others stay logged in (`tokenctl auth switch` changes which is active)\n", l.username, l.host)
	}
	if o.Getenv(credential.EnvToken) != "" {
		fmt.Fprintf(o.IO.ErrOut, "note: %s is set and takes precedence over the stored token until you unset it\n", credential.EnvToken)
	}
	return nil
}

// revokeReplaced deletes the login token the new credential replaced:
// nobody holds it any more (see isLoginToken), unless it is the token just
// stored. It returns a line for stderr, or "".
func (o *LoginOptions) revokeReplaced(ctx context.Context, copts client.Options, l *login, replaced *credential.Account) string {
	if !isLoginToken(replaced) || replaced.TokenID == l.facts.TokenID {
		return ""
	}
	revoked, warning := revokeLoginToken(ctx, replaced.TokenID, "the login token this login replaced", func(ctx context.Context) error {
		cl, err := clientWithToken(copts, l.token)
		if err != nil {
			return err
		}
		return cl.DeleteToken(ctx, replaced.TokenID)
	})
	if revoked {
		return fmt.Sprintf("Revoked the login token it replaced (id %s)", replaced.TokenID)
	}
	return warning
}

// clientWithToken is copts authenticated with tok instead of a password.
func clientWithToken(copts client.Options, tok string) (*client.Client, error) {
	copts.Username, copts.Password, copts.Token = "", "", tok
	return client.New(copts)
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

// loginTokenPrefix starts the name of every token a password login mints;
// records from before login_token was kept are recognised by it.
const loginTokenPrefix = "tokenctl@"

// loginTokenName is "tokenctl@<hostname>", cut to the server's name limit
// (a long FQDN must not make login fail).
func loginTokenName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil || strings.TrimSpace(h) == "" {
		h = "unknown-host"
	}
	name := loginTokenPrefix + strings.TrimSpace(h)
	if len(name) > api.MaxNameLen {
		name = name[:api.MaxNameLen]
	}
	return name
}
