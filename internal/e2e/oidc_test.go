package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tokenctl/tokenctl/internal/oidctest"
)

// Commands for the OIDC exchange scripts (registered in Params):
//
//	start-oidc               start a test OIDC issuer (RSA and EC keys,
//	                         discovery and JWKS over HTTP) and a stand-in of
//	                         the GitHub Actions ID-token endpoint handing out
//	                         acme/app's main-branch identity; set $OIDC_ISSUER,
//	                         $RUNNER_URL, $RUNNER_TOKEN and, after
//	                         start-tokend, $AUDIENCE (tokend's host:port)
//	mint-oidc FILE KIND      write an identity token of the issuer to FILE:
//	                         valid, expired, wrong-audience, other-repo,
//	                         none (alg none), hs256 (keyed with the public
//	                         key), unknown-kid
type oidcKey struct{}

type oidcState struct {
	iss    *oidctest.Issuer
	runner *oidctest.ActionsRunner
}

func githubJob() map[string]any { return oidctest.GitHubClaims("acme/app", "refs/heads/main", "4242") }

func cmdStartOIDC(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: start-oidc")
	}
	iss, err := oidctest.StartIssuer()
	ts.Check(err)
	ts.Defer(iss.Close)
	runner, err := oidctest.StartActionsRunner(iss, githubJob())
	ts.Check(err)
	ts.Defer(runner.Close)
	st := ts.Value(oidcKey{}).(*oidcState)
	st.iss, st.runner = iss, runner
	ts.Setenv("OIDC_ISSUER", iss.URL())
	ts.Setenv("RUNNER_URL", runner.RequestURL())
	ts.Setenv("RUNNER_TOKEN", runner.RequestToken())
	if u, err := url.Parse(ts.Getenv("URL")); err == nil && u.Host != "" {
		ts.Setenv("AUDIENCE", u.Host)
	}
}

func cmdMintOIDC(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mint-oidc FILE KIND")
	}
	st := ts.Value(oidcKey{}).(*oidcState)
	if st.iss == nil {
		ts.Fatalf("mint-oidc needs start-oidc first")
	}
	claims := githubJob()
	claims["aud"] = ts.Getenv("AUDIENCE")
	var jwt string
	switch args[1] {
	case "valid":
		jwt = st.iss.Mint(ts, claims)
	case "expired":
		jwt = st.iss.Mint(ts, claims, oidctest.WithTime(time.Now().Add(-time.Hour)))
	case "wrong-audience":
		claims["aud"] = "someone-else"
		jwt = st.iss.Mint(ts, claims)
	case "other-repo":
		claims = oidctest.GitHubClaims("evil/app", "refs/heads/main", "1")
		claims["aud"] = ts.Getenv("AUDIENCE")
		jwt = st.iss.Mint(ts, claims)
	case "none":
		jwt = st.iss.MintNone(ts, claims)
	case "hs256":
		jwt = st.iss.MintHS256WithPublicKey(ts, claims, true)
	case "unknown-kid":
		jwt = st.iss.MintWithUnknownKid(ts, claims)
	default:
		ts.Fatalf("mint-oidc: unknown kind %q", args[1])
	}
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), args[0]), []byte(jwt+"\n"), 0o600))
}
