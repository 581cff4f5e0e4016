package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/oidctest"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// TestSecretsAreNeverEchoed sends a real secret (and cut-off pieces of it)
// to every place the server quotes input, and finds it in no body, header
// or log line.
func TestSecretsAreNeverEchoed(t *testing.T) {
	e := newTestEnv(t)
	e.addUser("alice", "pw")
	auth := bearer(e.login("alice", "pw"))
	victim := e.create(auth, map[string]any{"name": "victim"})
	full := victim.Secret
	// A cut-off secret still leaks: the checksum can be recomputed.
	pieces := map[string]string{
		"full":      full,
		"truncated": full[:len(full)-6],
		"random":    strings.TrimPrefix(full, "tkn_"),
	}
	for name, s := range pieces {
		t.Run(name, func(t *testing.T) {
			cases := []req{
				{method: "GET", path: "/v1/tokens/" + s},
				{method: "DELETE", path: "/v1/tokens/" + s},
				{method: "POST", path: "/v1/tokens/" + s + "/rotate"},
				{method: "GET", path: "/v1/" + s},
				{method: "GET", path: "/v1//" + s},
				{method: "PUT", path: "/v1/tokens/" + s},
				{method: "GET", path: "/v1/tokens?cursor=" + url.QueryEscape(s)},
				{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{s, "x"}}},
				{method: "POST", path: "/v1/tokens", body: `{"name":"a"}`, contentType: "application/" + s},
				{method: "POST", path: "/v1/tokens", body: `{"name":"a","` + s + `":1}`},
				{method: "POST", path: "/v1/tokens", body: `{"` + s + `":1,"` + strings.ToUpper(s) + `":2}`},
				{method: "POST", path: "/v1/tokens", json: map[string]any{"name": "a"}, header: map[string]string{"Idempotency-Key": s + " x"}},
				{method: "GET", path: "/v1/user", header: map[string]string{"X-Request-Id": s}},
			}
			for _, rq := range cases {
				rq.auth = auth
				res := e.do(rq)
				if strings.Contains(string(res.body), s) {
					t.Errorf("%s %s: body echoes the secret: %s", rq.method, rq.path, res.body)
				}
				for k, vs := range res.header {
					for _, v := range vs {
						if strings.Contains(v, s) {
							t.Errorf("%s %s: header %s echoes the secret", rq.method, rq.path, k)
						}
					}
				}
			}
			if strings.Contains(e.logs.String(), s) {
				t.Errorf("the log holds the secret:\n%s", e.logs)
			}
		})
	}
	// A whole secret is named by its key hint, so the client can tell
	// which token it pasted.
	res := e.do(req{method: "GET", path: "/v1/tokens/" + full, auth: auth})
	if p := res.problem(t); !strings.Contains(p.Detail, victim.KeyHint) {
		t.Errorf("detail %q does not name the key hint %q", p.Detail, victim.KeyHint)
	}
	res = e.do(req{method: "POST", path: "/v1/tokens/delete", json: map[string]any{"ids": []string{full[:30]}}, auth: auth})
	if !strings.Contains(string(res.body), secretShown) {
		t.Errorf("bulk delete of a cut secret: %s", res.body)
	}
}

func TestRedactLeavesOrdinaryTextAlone(t *testing.T) {
	for _, s := range []string{
		"no token with id \"01jd5x3k9q8w7e6r5t4y3z2a1b\"",
		"expires_in_seconds must be at most 31622400",
		"deploy_production_2026",
		"no such endpoint: /v1/tokens/a/b/c",
	} {
		if got := redact(s); got != s {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
}

// TestRedactHidesSecretsOnly: issue 20 item 4. Public values an operator
// needs (a Dex kid of 40 hex characters, a 56-character subject, a
// SHA-256) go back as they are; tokens, their cut-off pieces, JWTs and
// the request's own credential do not.
func TestRedactHidesSecretsOnly(t *testing.T) {
	sec := mustSecret(t)
	public := []string{
		`kid "9a3f0c2e6b1d47e8a5c3f1e2d4b6a8c0e2f4a6b8" is not in the key set`,
		`sub "CiQ0ZjM2YjVhZS1hODc5LTRhZjItYmM1Zi03NGY0OWQ2ZmRjNmUSBWxvY2Fs"`,
		`its SHA-256, 5f2b1c0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a19080, was spent`,
		`no token with id "01jd5x3k9q8w7e6r5t4y3z2a1b"`,
		// base64url subjects and kids hold '_' and '-' as well.
		`sub "CiQ0ZjM2YjVhZS1h_ODc5LTRhZjItYmM1Zi03NGY0OWQ2ZmRjNmUSBWxvY2Fs"`,
		`sub "Cg_0ZjM2YjVhZS1hODc5LTRhZjItYmM1Zi03NGY0OWQ2ZmRjNmUSBWxvY2Fs"`,
		`kid "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"`,
	}
	for _, s := range public {
		if got := redact(s); got != s {
			t.Errorf("redact(%q) = %q, want it unchanged", s, got)
		}
	}
	secrets := map[string]string{
		"whole token":               sec,
		"token without checksum":    sec[:len(sec)-6],
		"token without prefix":      strings.TrimPrefix(sec, "tkn_"),
		"random part alone":         strings.TrimPrefix(sec, "tkn_")[:30],
		"cut token":                 sec[:24],
		"another server's token":    mustSecretWith(t, "acme_"),
		"a mistyped token":          sec[:10] + "0" + sec[11:],
		"token glued to a word":     "config_" + sec,
		"JWT":                       "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ",
		"JWT without its signature": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.",
	}
	for name, s := range secrets {
		if got := redact("value " + s + " here"); strings.Contains(got, s) {
			t.Errorf("%s: redact kept it: %q", name, got)
		}
	}
}

func mustSecret(t *testing.T) string { return mustSecretWith(t, "tkn_") }

func mustSecretWith(t *testing.T, prefix string) string {
	t.Helper()
	sec, err := secret.Generate(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return sec.String()
}

// TestProblemHidesTheRequestsOwnCredential: a password (any shape) quoted
// back into a detail, whole or cut, is hidden.
func TestProblemHidesTheRequestsOwnCredential(t *testing.T) {
	e := newTestEnv(t)
	const pw = "Correct-Horse-Battery-Staple-Correct-Horse-Battery-Staple-42"
	e.addUser("alice", pw)
	res := e.do(req{method: "GET", path: "/v1/tokens/" + pw, auth: basic("alice", pw)})
	p := res.problem(t)
	if res.status != 404 || strings.Contains(string(res.body), pw[:minCredential]) {
		t.Fatalf("%d: the detail repeats the password: %s", res.status, p.Detail)
	}
	if !strings.Contains(p.Detail, credentialShown) {
		t.Errorf("detail %q does not say a credential was hidden", p.Detail)
	}
}

// TestExchangeDetailsNamePublicValues: a long kid and a long subject are
// shown in the refusal (they were "(a token secret, not shown)"), and a
// replay of a token without jti says its SHA-256 was spent.
func TestExchangeDetailsNamePublicValues(t *testing.T) {
	e := newExchangeEnv(t, func(c *Config) { c.AuthFailures = 1000 })
	good := ghClaims("acme/app", "refs/heads/main")

	const kid = "9a3f0c2e6b1d47e8a5c3f1e2d4b6a8c0e2f4a6b8"
	res := e.exchange(map[string]any{"subject_token": e.iss.Mint(t, good, oidctest.WithHeader("kid", kid))})
	if p := res.problem(t); p.Reason != api.ReasonUnknownKey || !strings.Contains(p.Detail, kid) {
		t.Errorf("unknown kid: %s %q, want the kid named", p.Reason, p.Detail)
	}

	const sub = "CiQ0ZjM2YjVhZS1hODc5LTRhZjItYmM1Zi03NGY0OWQ2ZmRjNmUSBWxvY2Fs"
	claims := ghClaims("evil/app", "refs/heads/main")
	claims["sub"] = sub
	res = e.exchange(map[string]any{"subject_token": e.iss.Mint(t, claims)})
	if p := res.problem(t); p.Code != api.CodeNoMatchingPolicy || !strings.Contains(p.Detail, sub) {
		t.Errorf("no matching policy: %s %q, want the sub named", p.Code, p.Detail)
	}

	noJTI := e.iss.Mint(t, good, oidctest.WithoutClaims("jti"))
	if res := e.exchange(map[string]any{"subject_token": noJTI}); res.status != 201 {
		t.Fatalf("first use: %d %s", res.status, res.body)
	}
	res = e.exchange(map[string]any{"subject_token": noJTI})
	sum := sha256.Sum256([]byte(noJTI))
	p := res.problem(t)
	if p.Reason != api.ReasonReplayed || strings.Contains(p.Detail, `jti ""`) || !strings.Contains(p.Detail, hex.EncodeToString(sum[:])) {
		t.Errorf("replay without jti: %s %q, want its SHA-256 named", p.Reason, p.Detail)
	}
}

// TestCutTokenOfTheServersOwnPrefix: a server minting "corp_" tokens hides
// a cut-off one of its own (its checksum cannot show it is a token).
func TestCutTokenOfTheServersOwnPrefix(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.TokenPrefix = "corp_" })
	e.addUser("alice", "pw")
	tok := e.create(basic("alice", "pw"), map[string]any{"name": "a"})
	cut := tok.Secret[:len("corp_")+20]
	res := e.do(req{method: "GET", path: "/v1/tokens/" + cut, auth: basic("alice", "pw")})
	if p := res.problem(t); strings.Contains(string(res.body), cut) || !strings.Contains(p.Detail, secretShown) {
		t.Fatalf("a cut corp_ token: %s", res.body)
	}
}
