package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// CreateOptions are the inputs of `token create`.
type CreateOptions struct {
	IO     *iostreams.IOStreams
	Client func() (*client.Client, error)
	// ClientOptions are the host's options without a credential (--oidc).
	ClientOptions func() (client.Options, error)
	Now           func() time.Time

	Name        string
	Description string
	ExpiresIn   string
	ExpiresAt   string
	Scopes      []string
	scopesSet   bool // --scope was given, even as ''
	OIDC        cmdutil.OIDC
	secretOutput

	req api.CreateTokenRequest
}

// NewCmdCreate builds `token create`. runF replaces the run function in
// tests that check flag parsing alone.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{IO: f.IOStreams, Client: f.Client, ClientOptions: f.ClientOptions, Now: now(f)}
	cmd := &cobra.Command{
		Use:     "create [NAME]",
		Aliases: []string{"new", "generate"},
		Short:   "Create a token and show its secret once",
		Long: `Create a personal access token. It carries your permissions.

The secret is printed once and never again. On a terminal tokenctl shows it in
a block with its id, key hint and expiry. Scripts should use -q (the bare
secret and a newline), -o json or yaml (the whole record, secret included), or
-o env / -o dotenv (one NAME=value line for eval or $GITHUB_ENV; the name is
TOKEN unless --env-name says otherwise, and only the secret is written).
TOKEN is not a variable tokenctl reads, so after eval the next tokenctl
command still runs as you.

--scope (repeatable, or comma-separated) limits what the token may do:
tokens:read lists and shows tokens, tokens:write creates, rotates and
deletes them, tokens:introspect lets a gateway check any token (RFC 7662),
and the server's operator defines scopes for other services
(completion offers what the server knows). Without --scope a token made
with your password carries all your power, and one made with a token
carries exactly that token's scopes; --scope '' makes a token with none.
A token can only mint tokens with a subset of its own scopes that expire
no later than itself; the server refuses more.

Lifetimes take m, h, d and w units and combinations such as 1d12h; dates take
YYYY-MM-DD (midnight UTC) or RFC 3339. Without either the server's default
lifetime applies. On a terminal with no NAME, tokenctl asks for the name,
description and lifetime.

With GITHUB_ACTIONS=true a ::add-mask:: line for the secret goes to stderr
before the secret is printed.

With --oidc no credential is needed, only the host (--host or
TOKENCTL_HOST): the CI job's OIDC identity token is traded for the token
(see ` + "`tokenctl token exec --help`" + ` for where the identity token comes from,
--oidc-token-file, --oidc-token-env and --audience). NAME is optional (the
server names the token after the identity), the trust policy decides the
scopes (--scope can only narrow them) and the longest lifetime, and
--description and --expires-at cannot be used. Nothing deletes the token:
prefer ` + "`token exec --oidc`" + `, or keep --expires-in short.`,
		Example: `  tokenctl token create deploy-bot -d "deploys prod" --expires-in 30d --scope deploy:write
  tokenctl token create reader --scope tokens:read
  SECRET=$(tokenctl token create ci-job --expires-in 1h -q)
  eval "$(tokenctl token create ci --expires-in 10m -o env)"
  tokenctl token create ci --expires-in 10m -o dotenv --env-name API_TOKEN >> "$GITHUB_ENV"
  tokenctl token create --oidc-token-file /var/run/secrets/tokens/tokend -o env`,
		Args: maxArgs(1, "tokenctl token create [NAME]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			oidc := opts.OIDC.Active() || opts.OIDC.Audience != ""
			if len(args) == 1 {
				opts.Name = args[0]
			} else if !opts.IO.CanPrompt() && !oidc {
				return cmdutil.UsageErrorf("a token name is required: tokenctl token create NAME")
			}
			opts.scopesSet = cmd.Flags().Changed("scope")
			if runF != nil {
				return runF(opts)
			}
			if oidc {
				return createOIDCRun(cmd.Context(), opts)
			}
			return createRun(cmd.Context(), opts, len(args) == 0)
		},
	}
	cmd.Flags().StringVarP(&opts.Description, "description", "d", "", "what the token is for, as `TEXT`")
	cmd.Flags().StringVar(&opts.ExpiresIn, "expires-in", "", "lifetime as a `DURATION` of m, h, d, w (e.g. 30d, 1d12h)")
	cmd.Flags().StringVar(&opts.ExpiresAt, "expires-at", "", "expiry `DATE`: YYYY-MM-DD or RFC 3339")
	addScopeFlag(cmd, f, &opts.Scopes, "limit the token to `SCOPE` (repeatable, or a,b; '' for none)")
	addSecretFlags(cmd, &opts.secretOutput, f)
	cmdutil.AddOIDCFlags(cmd, &opts.OIDC)
	return cmd
}

func addSecretFlags(cmd *cobra.Command, o *secretOutput, f *cmdutil.Factory) {
	o.getenv = getenv(f)
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print only the secret and a newline")
	output.AddFlags(cmd, &o.Export, output.FormatText, secretFormats, false)
	cmd.Flags().StringVar(&o.EnvName, "env-name", DefaultEnvName, "variable `NAME` for -o env and -o dotenv")
	cmd.Flags().BoolVar(&o.Copy, "copy", false, "also copy the secret to the clipboard")
}

// validate turns flags into a request, rejecting bad input before anything
// is sent.
func (o *CreateOptions) validate() error {
	if err := o.secretOutput.validate(); err != nil {
		return err
	}
	if o.ExpiresIn != "" && o.ExpiresAt != "" {
		return cmdutil.UsageErrorf("--expires-in and --expires-at cannot be used together")
	}
	name := strings.TrimSpace(o.Name)
	switch {
	case name == "":
		return cmdutil.UsageErrorf("the token name must not be empty")
	case utf8.RuneCountInString(name) > api.MaxNameLen:
		return cmdutil.UsageErrorf("the token name is too long: at most %d characters", api.MaxNameLen)
	case utf8.RuneCountInString(o.Description) > api.MaxDescriptionLen:
		return cmdutil.UsageErrorf("the description is too long: at most %d characters", api.MaxDescriptionLen)
	}
	o.req = api.CreateTokenRequest{Name: name, Description: o.Description}
	if o.scopesSet || len(o.Scopes) > 0 {
		// Given, even empty: the server must not apply its default.
		sc, err := cleanScopes(o.Scopes)
		if err != nil {
			return err
		}
		o.req.Scopes = sc
	}
	if o.ExpiresIn != "" {
		d, err := timespec.ParseDuration(o.ExpiresIn)
		if err != nil {
			return cmdutil.UsageErrorf("--expires-in: %s", err)
		}
		o.req.ExpiresInSeconds = client.ExpiresIn(d)
	}
	if o.ExpiresAt != "" {
		t, err := timespec.ParseDate(o.ExpiresAt)
		if err != nil {
			return cmdutil.UsageErrorf("--expires-at: %s", err)
		}
		o.req.ExpiresAt = &t
	}
	return nil
}

// lifetimeFlags are the lifetime flags as given, for naming the one the
// server refused.
func (o *CreateOptions) lifetimeFlags() cmdutil.LifetimeFlags {
	var f cmdutil.LifetimeFlags
	if o.ExpiresIn != "" {
		f.ExpiresIn = "--expires-in " + o.ExpiresIn
	}
	if o.ExpiresAt != "" {
		f.ExpiresAt = "--expires-at " + o.ExpiresAt
	}
	return f
}

func createRun(ctx context.Context, opts *CreateOptions, ask bool) error {
	if err := opts.secretOutput.validate(); err != nil {
		return err
	}
	if ask {
		if err := askCreate(ctx, opts); err != nil {
			return err
		}
	}
	if err := opts.validate(); err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ct, err := c.CreateToken(ctx, opts.req, "")
	if err != nil {
		return cmdutil.NameLifetimeFlag(fmt.Errorf("create token: %w", err), opts.lifetimeFlags())
	}
	return opts.print(opts.IO, ct, "Created", opts.Now())
}

// createOIDCRun trades the CI identity token for the token and prints it
// like any create.
func createOIDCRun(ctx context.Context, opts *CreateOptions) error {
	if err := opts.secretOutput.validate(); err != nil {
		return err
	}
	req, err := opts.exchangeRequest()
	if err != nil {
		return err
	}
	copts, err := opts.ClientOptions()
	if err != nil {
		return err
	}
	et, err := opts.OIDC.Exchange(ctx, copts, opts.getenv, req)
	if err != nil {
		return err
	}
	return opts.print(opts.IO, &et.CreatedToken, "Created", opts.Now())
}

// exchangeRequest checks the flags an exchange can carry.
func (o *CreateOptions) exchangeRequest() (api.ExchangeRequest, error) {
	if err := o.OIDC.Validate(); err != nil {
		return api.ExchangeRequest{}, err
	}
	switch {
	case o.Description != "":
		return api.ExchangeRequest{}, cmdutil.UsageErrorf("--description cannot be used with --oidc: an exchanged token is described by the identity it was made for")
	case o.ExpiresAt != "":
		return api.ExchangeRequest{}, cmdutil.UsageErrorf("--expires-at cannot be used with --oidc: use --expires-in")
	}
	req := api.ExchangeRequest{Name: strings.TrimSpace(o.Name)}
	if utf8.RuneCountInString(req.Name) > api.MaxNameLen {
		return req, cmdutil.UsageErrorf("the token name is too long: at most %d characters", api.MaxNameLen)
	}
	sc, err := cleanScopes(o.Scopes)
	if err != nil {
		return req, err
	}
	if err := oidcScopes(o.scopesSet, sc); err != nil {
		return req, err
	}
	req.Scope = strings.Join(sc, " ")
	if o.ExpiresIn != "" {
		d, err := timespec.ParseDuration(o.ExpiresIn)
		if err != nil {
			return req, cmdutil.UsageErrorf("--expires-in: %s", err)
		}
		req.ExpiresInSeconds = client.ExpiresIn(d)
	}
	return req, nil
}

// askCreate is the terminal form: name, description, lifetime, like the
// web consoles' "generate token" page. Flags already given are not asked.
func askCreate(ctx context.Context, opts *CreateOptions) error {
	ask := func(q string) (string, error) {
		answer, err := opts.IO.Prompt(ctx, q)
		switch {
		case errors.Is(err, iostreams.ErrInterrupted):
			return "", err
		case err != nil:
			return "", cmdutil.UsageErrorf("no answer read: pass the token name as an argument")
		}
		return answer, nil
	}
	for opts.Name == "" {
		name, err := ask("Token name: ")
		if err != nil {
			return err
		}
		if name == "" {
			fmt.Fprintln(opts.IO.ErrOut, "The name must not be empty.")
			continue
		}
		opts.Name = name
	}
	if opts.Description == "" {
		d, err := ask("Description (optional): ")
		if err != nil {
			return err
		}
		opts.Description = d
	}
	for opts.ExpiresIn == "" && opts.ExpiresAt == "" {
		l, err := ask("Lifetime, e.g. 30d, or a date YYYY-MM-DD (empty for the server default): ")
		if err != nil {
			return err
		}
		if l == "" {
			break
		}
		if _, err := timespec.ParseDuration(l); err == nil {
			opts.ExpiresIn = l
		} else if _, derr := timespec.ParseDate(l); derr == nil {
			opts.ExpiresAt = l
		} else {
			fmt.Fprintf(opts.IO.ErrOut, "%s\n", err)
		}
	}
	return nil
}
