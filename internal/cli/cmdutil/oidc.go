package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/oidctoken"
)

// OIDC holds the --oidc flags that exec, create and auth login share: trade
// the CI job's identity token for a token instead of using a stored
// credential.
type OIDC struct {
	Enabled   bool
	TokenFile string
	TokenEnv  string
	Audience  string
}

// AddOIDCFlags registers --oidc, --oidc-token-file, --oidc-token-env and
// --audience on cmd.
func AddOIDCFlags(cmd *cobra.Command, o *OIDC) {
	fl := cmd.Flags()
	fl.BoolVar(&o.Enabled, "oidc", false, "trade the CI job's OIDC identity token for the token (no stored credential needed)")
	fl.StringVar(&o.TokenFile, "oidc-token-file", "", "read the identity token from `PATH` (implies --oidc)")
	fl.StringVar(&o.TokenEnv, "oidc-token-env", "", "read the identity token from the variable `NAME` (implies --oidc)")
	fl.StringVar(&o.Audience, "audience", "", "`AUD` to ask the GitHub Actions runner for (default: the host's name[:port])")
}

// Active reports whether the command runs with an exchanged token:
// --oidc, or a source of the identity token given.
func (o *OIDC) Active() bool { return o.Enabled || o.TokenFile != "" || o.TokenEnv != "" }

// Validate checks the flags before anything is read or sent.
func (o *OIDC) Validate() error {
	if o.Audience != "" && !o.Active() {
		return UsageErrorf("--audience is only used with --oidc")
	}
	return o.source(nil, "").Validate()
}

func (o *OIDC) source(getenv func(string) string, host string) oidctoken.Source {
	aud := o.Audience
	if aud == "" {
		aud = oidctoken.DefaultAudience(host)
	}
	return oidctoken.Source{File: o.TokenFile, Env: o.TokenEnv, Audience: aud, Getenv: getenv}
}

// Exchange finds the identity token and trades it for a token on copts'
// host (see IdentityToken and Trade).
func (o *OIDC) Exchange(ctx context.Context, copts client.Options, getenv func(string) string, req api.ExchangeRequest) (*api.ExchangedToken, error) {
	id, err := o.IdentityToken(ctx, copts, getenv)
	if err != nil {
		return nil, err
	}
	return Trade(ctx, copts, id, req)
}

// IdentityToken finds the CI job's identity token; asking the Actions
// runner draws on copts' budget (--timeout). Its errors never contain a
// token.
func (o *OIDC) IdentityToken(ctx context.Context, copts client.Options, getenv func(string) string) (oidctoken.Token, error) {
	base, err := client.NormalizeHost(copts.Host)
	if err != nil {
		return oidctoken.Token{}, &UsageError{Err: err}
	}
	budget := copts.Budget
	if budget == nil || budget.Total() <= 0 {
		t := copts.Timeout
		if t <= 0 {
			t = client.DefaultTimeout
		}
		budget = client.NewBudget(t)
	}
	tctx, done := budget.Within(ctx)
	defer done()
	return o.source(getenv, base.String()).Get(tctx)
}

// Trade sends the exchange to copts' host with no credential (the identity
// token is the credential). Refusals come back as *AuthError (exit 4) with
// the server's reason and what to do.
func Trade(ctx context.Context, copts client.Options, id oidctoken.Token, req api.ExchangeRequest) (*api.ExchangedToken, error) {
	copts.Token, copts.Username, copts.Password = "", "", ""
	c, err := client.New(copts)
	if err != nil {
		return nil, err
	}
	req.SubjectToken, req.SubjectTokenType = id.Value, id.Type
	et, err := c.Exchange(ctx, req)
	if err != nil {
		return nil, ExchangeError(c.Host(), err)
	}
	if et.Secret == "" {
		et.Secret = et.AccessToken
	}
	return et, nil
}

// ExchangeError maps a refused exchange to one line that says why and
// what to do; other errors (unreachable server, timeouts) pass through as
// every command reports them.
func ExchangeError(host string, err error) error {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return err
	}
	detail := ""
	if ae.Problem != nil {
		detail = ae.Problem.Detail
	}
	switch {
	case ae.Code() == api.CodeSubjectTokenRejected || ae.Status == http.StatusUnauthorized:
		msg := "tokend refused the identity token"
		if ae.Problem != nil && ae.Problem.Reason != "" {
			msg += " (" + ae.Problem.Reason + ")"
		}
		if detail != "" {
			msg += ": " + detail
		}
		return &AuthError{Err: &wrapped{msg, err}}
	case ae.Code() == api.CodeNoMatchingPolicy || ae.Code() == api.CodeExceedsPolicy:
		if detail == "" {
			detail = "no trust policy allows this exchange"
		}
		return &AuthError{Err: &wrapped{fmt.Sprintf("%s: %s; ask its operator to check the trust policies (`tokend trust list`)", ae.Host, detail), err}}
	case ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed:
		return &wrapped{fmt.Sprintf("%s does not offer token exchange (HTTP %d): it needs a tokend with trust policies", ae.Host, ae.Status), err}
	}
	return fmt.Errorf("token exchange: %w", err)
}

// wrapped is a message of its own over the error it explains.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
