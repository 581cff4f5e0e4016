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
// token is the credential). A refusal comes back as the server's
// *client.APIError; Explain turns it into the line and exit code 4.
func Trade(ctx context.Context, copts client.Options, id oidctoken.Token, req api.ExchangeRequest) (*api.ExchangedToken, error) {
	copts.Token, copts.Username, copts.Password = "", "", ""
	c, err := client.New(copts)
	if err != nil {
		return nil, err
	}
	req.SubjectToken, req.SubjectTokenType = id.Value, id.Type
	et, err := c.Exchange(ctx, req)
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
			// An older tokend, or another server: the route is not there.
			return nil, fmt.Errorf("%s does not offer token exchange (HTTP %d): it needs a tokend with trust policies", ae.Host, ae.Status)
		}
		return nil, fmt.Errorf("token exchange: %w", err)
	}
	if et.Secret == "" {
		et.Secret = et.AccessToken
	}
	return et, nil
}
