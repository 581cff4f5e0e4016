package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// DefaultExecEnv is the variable token exec hands the secret in.
const DefaultExecEnv = "TOKENCTL_EXEC_TOKEN"

// credentialEnv carries tokenctl's own credential in CI; token exec does
// not pass it on.
const credentialEnv = "TOKENCTL_TOKEN"

// DefaultExecLifetime bounds how long a minted token can outlive its
// command when the delete at the end cannot reach the server.
const DefaultExecLifetime = 15 * time.Minute

// ExecOptions are the inputs of `token exec`.
type ExecOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	// ClientOptions are the host's options without a credential (--oidc).
	ClientOptions func() (client.Options, error)
	// ClientFor builds a client authenticated with the minted token.
	ClientFor func(token string) (*client.Client, error)
	Now       func() time.Time
	Getenv    func(string) string

	ExpiresIn   string
	Name        string
	Description string
	Env         string
	Scopes      []string
	Command     []string
	OIDC        cmdutil.OIDC

	lifetime     time.Duration
	scopesSet    bool // --scope was given, even as ''
	expiresInSet bool // --expires-in was given
}

// NewCmdExec builds `token exec`.
func NewCmdExec(f *cmdutil.Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IOStreams, Client: f.Client, ClientOptions: f.ClientOptions, ClientFor: f.ClientFor, Now: now(f), Getenv: getenv(f)}
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with a short-lived token that is deleted when it ends",
		Long: `Mint a short-lived token, run COMMAND with the secret in an environment
variable (never in its arguments), and delete the token when COMMAND ends,
however it ends: success, failure, or tokenctl itself being interrupted.
SIGINT, SIGTERM and SIGHUP are passed on to COMMAND. COMMAND does not
inherit TOKENCTL_TOKEN (tokenctl's own credential); pass --env TOKENCTL_TOKEN
to give it the minted token under that name.

tokenctl exits with COMMAND's exit code (128+N when it was killed by signal N),
or, as shells do, 127 when COMMAND is not found and 126 when it cannot be run;
then no token is minted. --env must be a valid variable name and not one the
child needs (PATH, HOME, SHELL, IFS, PWD, USER, TMPDIR, TERM, LD_*, DYLD_*).
If the token cannot be deleted, tokenctl says so on stderr with the token's
id and expiry, and exits non-zero even when COMMAND succeeded. The lifetime
(default 15m) is the backstop when the server cannot be reached.

The token cannot mint, list or delete tokens unless asked: without --scope
it gets the scopes of tokenctl's own credential minus the built-in
tokens:* scopes (with a password credential, every scope the server
defines except those). --scope gives it exactly the scopes named (repeatable,
or a,b; '' for none), e.g. --scope deploy:write,tokens:write. A token never
outlives the credential that made it: the default lifetime is cut to the
credential's expiry when that comes sooner, and an explicit --expires-in
beyond it is refused by the server.

With GITHUB_ACTIONS=true the secret is masked in the job log, in case
COMMAND prints it.

With --oidc no credential is needed, only the host (--host or
TOKENCTL_HOST): the CI job's OIDC identity token is traded for the token
(POST /v1/tokens/exchange) and the token deletes itself when COMMAND ends.
In GitHub Actions the runner gives the identity token (the job needs
permissions: id-token: write); elsewhere pass --oidc-token-file PATH or
--oidc-token-env NAME (either implies --oidc; the variable is not passed
on to COMMAND). --audience (default: the host's name, with :port when not
443) is what the Actions runner is asked to put in the token, and must be
what the server's trust policy expects. The server's trust policy decides
the scopes (--scope can only narrow them), the name (unless --name) and
the longest lifetime; without --expires-in the policy's maximum applies.`,
		Example: `  tokenctl token exec -- ./deploy.sh production
  tokenctl token exec --expires-in 1h --env API_TOKEN -- make release
  tokenctl token exec --scope deploy:write -- ./deploy.sh
  TOKENCTL_HOST=https://tokend.example.com tokenctl token exec --oidc -- ./deploy.sh
  tokenctl token exec --oidc-token-env TOKENCTL_ID_TOKEN -- ./deploy.sh`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Command = args
			opts.scopesSet = cmd.Flags().Changed("scope")
			opts.expiresInSet = cmd.Flags().Changed("expires-in")
			if runF != nil {
				return runF(opts)
			}
			return execRun(cmd.Context(), opts)
		},
	}
	// Everything after COMMAND belongs to COMMAND, "--" or not.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&opts.ExpiresIn, "expires-in", timespec.FormatDuration(DefaultExecLifetime), "lifetime as a `DURATION` of m, h, d, w (e.g. 15m, 1h)")
	cmd.Flags().StringVar(&opts.Name, "name", "", "token `NAME` (default exec-COMMAND-RANDOM)")
	cmd.Flags().StringVarP(&opts.Description, "description", "d", "", "what the token is for, as `TEXT`")
	cmd.Flags().StringVar(&opts.Env, "env", DefaultExecEnv, "environment variable `NAME` that carries the secret")
	addScopeFlag(cmd, f, &opts.Scopes, "give the token `SCOPE` (repeatable, or a,b; default: the credential's own minus tokens:*)")
	cmdutil.AddOIDCFlags(cmd, &opts.OIDC)
	return cmd
}

func (o *ExecOptions) validate() error {
	if len(o.Command) == 0 || o.Command[0] == "" {
		return cmdutil.UsageErrorf("no command to run: tokenctl token exec -- COMMAND [ARGS...]")
	}
	if !envNameRE.MatchString(o.Env) {
		return cmdutil.UsageErrorf("invalid --env %q: use letters, digits and '_', not starting with a digit", o.Env)
	}
	if reservedEnv(o.Env) {
		return cmdutil.UsageErrorf("--env %s would replace a variable COMMAND needs to run; pick another name, e.g. API_TOKEN", o.Env)
	}
	d, err := timespec.ParseDuration(o.ExpiresIn)
	if err != nil {
		return cmdutil.UsageErrorf("--expires-in: %s", err)
	}
	o.lifetime = d
	sc, err := cleanScopes(o.Scopes)
	if err != nil {
		return err
	}
	o.Scopes = sc
	if o.OIDC.Active() || o.OIDC.Audience != "" {
		return o.validateOIDC()
	}
	if o.Name == "" {
		o.Name = execTokenName(o.Command[0])
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" || len([]rune(o.Name)) > api.MaxNameLen {
		return cmdutil.UsageErrorf("--name must be 1 to %d characters", api.MaxNameLen)
	}
	if o.Description == "" {
		o.Description = "minted by tokenctl token exec for " + text.Truncate(filepath.Base(o.Command[0]), 200)
	}
	return nil
}

// validateOIDC checks what an exchange can carry: no description, and
// scopes only when some are named (an empty scope asks for the policy's).
func (o *ExecOptions) validateOIDC() error {
	if err := o.OIDC.Validate(); err != nil {
		return err
	}
	if o.Description != "" {
		return cmdutil.UsageErrorf("--description cannot be used with --oidc: an exchanged token is described by the identity it was made for")
	}
	if err := oidcScopes(o.scopesSet, o.Scopes); err != nil {
		return err
	}
	o.Name = strings.TrimSpace(o.Name)
	if len([]rune(o.Name)) > api.MaxNameLen {
		return cmdutil.UsageErrorf("--name must be 1 to %d characters", api.MaxNameLen)
	}
	if o.OIDC.TokenEnv != "" && strings.EqualFold(o.OIDC.TokenEnv, o.Env) {
		return cmdutil.UsageErrorf("--env and --oidc-token-env name the same variable: pick another --env")
	}
	return nil
}

// oidcScopes refuses --scope ” with --oidc: an exchange without a scope
// asks for everything the trust policy grants, the opposite of "none".
func oidcScopes(set bool, scopes []string) error {
	if set && len(scopes) == 0 {
		return cmdutil.UsageErrorf("--scope '' cannot be used with --oidc: name the scopes, or leave --scope out for the trust policy's")
	}
	return nil
}

// reservedEnv reports names that would break the child if they held the
// secret: how it finds programs and its home, the shell's word splitting,
// and what the dynamic loader reads (LD_PRELOAD and friends; DYLD_* on
// macOS).
func reservedEnv(name string) bool {
	switch strings.ToUpper(name) {
	case "PATH", "HOME", "SHELL", "IFS", "PWD", "USER", "TMPDIR", "TERM":
		return true
	}
	u := strings.ToUpper(name)
	return strings.HasPrefix(u, "LD_") || strings.HasPrefix(u, "DYLD_")
}

// commandExitCode is what a shell exits with when it cannot run a
// command: 127 when there is no such command, 126 when it is there but
// cannot be executed (no permission, a directory, not a program).
func commandExitCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return 127
	}
	return 126
}

// cannotRun reports, the way a shell does, that COMMAND cannot be run,
// and ends tokenctl with the shell's exit code for it.
func cannotRun(ios *iostreams.IOStreams, command string, err error) error {
	fmt.Fprintf(ios.ErrOut, "tokenctl: cannot run %q: %s\n", command, text.OneLine(unwrapExecError(err).Error()))
	return &cmdutil.ExitCodeError{Code: commandExitCode(err)}
}

// execTokenName is exec-<command>-<random>, so concurrent runs of the same
// command get distinct, recognisable names.
func execTokenName(command string) string {
	base := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, filepath.Base(command))
	base = text.Truncate(base, 60)
	return "exec-" + base + "-" + strings.ToLower(rand.Text()[:6])
}

// forwarded are the signals tokenctl passes to the child instead of dying
// from them, so it is still there to delete the token afterwards.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func execRun(ctx context.Context, opts *ExecOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	// Find COMMAND before minting: a typo must not cost a token.
	if _, err := exec.LookPath(opts.Command[0]); err != nil {
		return cannotRun(opts.IO, opts.Command[0], err)
	}
	mint, err := opts.minter()
	if err != nil {
		return err
	}
	ios := opts.IO

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	// A signal while minting cancels the request; one that arrives after
	// the token exists stays queued and ends the run before the child
	// starts.
	createCtx, cancelCreate := context.WithCancel(ctx)
	var interrupted os.Signal
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case s := <-sigs:
			interrupted = s
			cancelCreate()
		case <-stopWatch:
		}
	}()
	ct, deleteToken, err := mint(createCtx)
	close(stopWatch)
	<-watchDone
	cancelCreate()
	if err != nil {
		if interrupted != nil {
			return &cmdutil.ExitCodeError{Code: signalExitCode(interrupted)}
		}
		if opts.OIDC.Active() {
			return err
		}
		return fmt.Errorf("create token for exec: %w", err)
	}
	cmdutil.MaskSecret(ios.ErrOut, opts.Getenv, ct.Secret)

	code, runErr := runChild(opts, ct.Secret, sigs, interrupted)
	delErr := deleteToken(ctx)
	if delErr != nil {
		fmt.Fprintf(ios.ErrOut, "tokenctl: could not delete token %s (%s): %s; it expires at %s (%s)\n",
			ct.ID, ct.Name, text.OneLine(delErr.Error()), timespec.Date(ct.ExpiresAt), timespec.Relative(ct.ExpiresAt, opts.Now(), true))
	}
	switch {
	case runErr != nil:
		return runErr
	case code != 0:
		return &cmdutil.ExitCodeError{Code: code}
	case delErr != nil:
		return cmdutil.ErrSilent
	}
	return nil
}

// minter returns how this run gets its token: a create with tokenctl's
// credential, or an exchange of the CI identity token (--oidc). The
// function it returns mints and gives back how to delete what it minted.
func (o *ExecOptions) minter() (func(context.Context) (*api.CreatedToken, func(context.Context) error, error), error) {
	if o.OIDC.Active() {
		copts, err := o.ClientOptions()
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (*api.CreatedToken, func(context.Context) error, error) {
			req := api.ExchangeRequest{Name: o.Name}
			if len(o.Scopes) > 0 {
				req.Scope = strings.Join(o.Scopes, " ")
			}
			if o.expiresInSet {
				req.ExpiresInSeconds = client.ExpiresIn(o.lifetime)
			}
			et, err := o.OIDC.Exchange(ctx, copts, o.Getenv, req)
			if err != nil {
				return nil, nil, err
			}
			mc, err := o.ClientFor(et.Secret)
			if err != nil {
				return nil, nil, err
			}
			return &et.CreatedToken, func(ctx context.Context) error { return deleteCurrentToken(ctx, mc) }, nil
		}, nil
	}
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (*api.CreatedToken, func(context.Context) error, error) {
		req, err := o.request(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		ct, err := c.CreateToken(ctx, req, "")
		if err != nil {
			flag := "--expires-in " + o.ExpiresIn
			if !o.expiresInSet {
				flag += " (the default)"
			}
			return nil, nil, cmdutil.NameLifetimeFlag(err, cmdutil.LifetimeFlags{ExpiresIn: flag})
		}
		return ct, func(ctx context.Context) error { return deleteExecToken(ctx, c, ct) }, nil
	}, nil
}

// request is the create for the exec token. What --scope and --expires-in
// leave open comes from tokenctl's own credential (GET /v1/user): its
// scopes minus tokens:*, and the default lifetime cut to its expiry.
func (o *ExecOptions) request(ctx context.Context, c *client.Client) (api.CreateTokenRequest, error) {
	req := api.CreateTokenRequest{Name: o.Name, Description: o.Description, ExpiresInSeconds: client.ExpiresIn(o.lifetime)}
	if o.scopesSet {
		req.Scopes = o.Scopes
	}
	if o.scopesSet && o.expiresInSet {
		return req, nil
	}
	u, err := c.User(ctx)
	if err != nil {
		return req, err
	}
	parent := u.Token
	switch {
	case o.scopesSet:
	case parent != nil && parent.Scopes == nil:
		// A server without scopes: nothing to narrow, and it would
		// refuse the unknown field.
	case parent != nil:
		req.Scopes = withoutTokenScopes(parent.Scopes)
	default:
		// A password credential holds every scope; ask which exist.
		all, err := c.Scopes(ctx)
		if err != nil {
			return req, err
		}
		var own []string
		for _, s := range all {
			own = append(own, s.Name)
		}
		req.Scopes = withoutTokenScopes(own)
	}
	if !o.expiresInSet && parent != nil {
		now := o.Now()
		left := parent.ExpiresAt.Sub(now)
		if left < api.MinLifetime {
			return req, fmt.Errorf("tokenctl's credential expires %s, too soon to mint a token from it: run `tokenctl auth refresh` or log in again", timespec.Relative(parent.ExpiresAt, now, true))
		}
		// A minute of margin for clock skew: the server measures the
		// lifetime from its own clock. The parent's exact expiry is
		// always allowed.
		if left < o.lifetime+time.Minute {
			at := parent.ExpiresAt
			req.ExpiresInSeconds, req.ExpiresAt = nil, &at
		}
	}
	return req, nil
}

// withoutTokenScopes drops the built-in tokens:* scopes, so an exec token
// cannot list, mint or delete tokens unless --scope asks for it. Never nil:
// an empty list must reach the server as [] (no scopes), not as "default".
func withoutTokenScopes(in []string) []string {
	out := []string{}
	for _, s := range in {
		if !scope.IsBuiltin(s) {
			out = append(out, s)
		}
	}
	return out
}

// runChild runs the command with the secret in its environment and returns
// its exit code. Signals to tokenctl are forwarded while it runs.
func runChild(opts *ExecOptions, secret string, sigs <-chan os.Signal, pending os.Signal) (int, error) {
	if pending != nil {
		return signalExitCode(pending), nil
	}
	select {
	case s := <-sigs:
		return signalExitCode(s), nil
	default:
	}
	child := exec.Command(opts.Command[0], opts.Command[1:]...)
	// The child gets the short-lived token and not tokenctl's own
	// long-lived one: least privilege (use --env TOKENCTL_TOKEN to hand it
	// the minted token under that name).
	env := withoutVar(withoutVar(os.Environ(), opts.Env), credentialEnv)
	if opts.OIDC.TokenEnv != "" {
		// The identity token was meant for tokend alone.
		env = withoutVar(env, opts.OIDC.TokenEnv)
	}
	child.Env = append(env, opts.Env+"="+secret)
	child.Stdin, child.Stdout, child.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	if err := child.Start(); err != nil {
		return 0, cannotRun(opts.IO, opts.Command[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = child.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 0, fmt.Errorf("run %s: %w", opts.Command[0], err)
			}
			return exitCode(child.ProcessState), nil
		}
	}
}

// execDeleteTimeout is the budget of the delete after the child ends. It
// is its own, not what is left of --timeout: the child's run does not
// spend --timeout, but a create that used most of it must not leave the
// clean-up too little.
const execDeleteTimeout = 30 * time.Second

// deleteExecToken deletes the minted token even when ctx was cancelled by
// the interrupt that ended the child; a missing token counts as deleted.
func deleteExecToken(ctx context.Context, c *client.Client, ct *api.CreatedToken) error {
	err := c.WithBudget(client.NewBudget(execDeleteTimeout)).DeleteToken(context.WithoutCancel(ctx), ct.ID)
	if err != nil && client.IsStatus(err, 404) {
		return nil
	}
	return err
}

// deleteCurrentToken has the exchanged token delete itself (it may lack
// tokens:write). A token that no longer authenticates (401: deleted by
// COMMAND, or expired) or is not found counts as deleted.
func deleteCurrentToken(ctx context.Context, mc *client.Client) error {
	err := mc.WithBudget(client.NewBudget(execDeleteTimeout)).DeleteCurrentToken(context.WithoutCancel(ctx))
	if err != nil && (client.IsStatus(err, 401) || client.IsStatus(err, 404)) {
		return nil
	}
	return err
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

func withoutVar(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
