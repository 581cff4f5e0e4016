// Package oidctoken finds the CI job's OIDC identity token that tokenctl
// trades for a tokend token (--oidc): a file (--oidc-token-file), an
// environment variable (--oidc-token-env), or the GitHub Actions runner's
// ID-token endpoint. The identity token is a secret: no error here ever
// contains it.
package oidctoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/exitcode"
	"github.com/tokenctl/tokenctl/internal/netaddr"
)

// The GitHub Actions runner sets these when the job has
// `permissions: id-token: write`.
const (
	EnvActionsRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// ErrNoSource is Get's error when nothing provides a token (exit 2).
var ErrNoSource error = &exitcode.UsageError{Err: errors.New("--oidc needs an identity token: in GitHub Actions add `permissions: id-token: write` to the job; elsewhere pass --oidc-token-file or --oidc-token-env")}

// maxRead bounds what is read from a file or the runner before the size
// check: anything longer is refused anyway.
const maxRead = 1 << 20

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Source says where the identity token comes from; the first that is set
// wins: File, Env, then the Actions runner.
type Source struct {
	File string // --oidc-token-file PATH
	Env  string // --oidc-token-env NAME
	// Audience is what the Actions runner is asked to put in aud.
	Audience string
	Getenv   func(string) string
	// HTTP asks the Actions runner (nil: a client that follows no
	// redirect, so the runner's bearer never travels elsewhere).
	HTTP *http.Client
}

// Token is an identity token and what kind it is.
type Token struct {
	Value string
	// Type is api.TokenTypeIDToken for the Actions runner (an OIDC ID
	// token) and api.TokenTypeJWT for a file or variable, which may hold
	// any JWT (a Kubernetes service-account token is not an ID token).
	Type string
	// From names the source for messages: "--oidc-token-file PATH", ….
	From string
}

// Validate checks the flags' shape before anything is read.
func (s Source) Validate() error {
	switch {
	case s.File != "" && s.Env != "":
		return exitcode.Usagef("--oidc-token-file and --oidc-token-env cannot be used together: pass one")
	case s.Env != "" && !envNameRE.MatchString(s.Env):
		return exitcode.Usagef("invalid --oidc-token-env %q: give the variable's NAME (letters, digits, '_'), not its value", s.Env)
	}
	return nil
}

// Get returns the identity token. ctx bounds the request to the Actions
// runner (the command's --timeout).
func (s Source) Get(ctx context.Context) (Token, error) {
	if err := s.Validate(); err != nil {
		return Token{}, err
	}
	switch {
	case s.File != "":
		return s.fromFile()
	case s.Env != "":
		return s.fromEnv()
	case s.Getenv(EnvActionsRequestURL) != "" && s.Getenv(EnvActionsRequestToken) != "":
		return s.fromActions(ctx)
	}
	return Token{}, ErrNoSource
}

func (s Source) fromFile() (Token, error) {
	from := "--oidc-token-file " + s.File
	f, err := os.Open(s.File)
	if err != nil {
		why := "cannot be read"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			why = "does not exist"
		case errors.Is(err, fs.ErrPermission):
			why = "is not readable by this user"
		}
		return Token{}, exitcode.Usagef("%s: the file %s", from, why)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRead+1))
	if err != nil {
		return Token{}, exitcode.Usagef("%s: the file cannot be read (is it a directory?)", from)
	}
	return check(string(b), api.TokenTypeJWT, from, "the file")
}

func (s Source) fromEnv() (Token, error) {
	from := "--oidc-token-env " + s.Env
	v := s.Getenv(s.Env)
	if strings.TrimSpace(v) == "" {
		return Token{}, exitcode.Usagef("%s: the variable %s is unset or empty", from, s.Env)
	}
	return check(v, api.TokenTypeJWT, from, "the variable")
}

// check trims the token and refuses what cannot be one.
func check(v, typ, from, what string) (Token, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return Token{}, exitcode.Usagef("%s: %s is empty", from, what)
	case len(v) > api.MaxSubjectTokenLen:
		return Token{}, exitcode.Usagef("%s: %s holds more than %d bytes, too much for an identity token", from, what, api.MaxSubjectTokenLen)
	}
	return Token{Value: v, Type: typ, From: from}, nil
}

// fromActions asks the GitHub Actions runner for an ID token:
// GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with the runner's bearer.
func (s Source) fromActions(ctx context.Context) (Token, error) {
	const from = "the GitHub Actions runner"
	fail := func(format string, a ...any) (Token, error) {
		return Token{}, fmt.Errorf("the Actions runner did not give an ID token: %s; does the job have `permissions: id-token: write`?", fmt.Sprintf(format, a...))
	}
	u, err := url.Parse(s.Getenv(EnvActionsRequestURL))
	if err != nil || u.Host == "" {
		return fail("%s is not a URL", EnvActionsRequestURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && netaddr.IsLoopback(u.Hostname())) {
		// The runner's bearer must not travel in clear text.
		return fail("%s is not https", EnvActionsRequestURL)
	}
	// The URL already carries a query (api-version=…): add to it.
	q := u.Query()
	if s.Audience != "" {
		q.Set("audience", s.Audience)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail("%s is not a URL", EnvActionsRequestURL)
	}
	req.Header.Set("Authorization", "Bearer "+s.Getenv(EnvActionsRequestToken))
	req.Header.Set("Accept", "application/json")
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail("no answer within --timeout")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the runner's; the host is enough
		}
		return fail("cannot reach %s: %v", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRead+1))
	if err != nil {
		if ctx.Err() != nil {
			return fail("no answer within --timeout")
		}
		return fail("the answer was cut short")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	var out struct {
		Value string `json:"value"`
	}
	if len(body) > maxRead || json.Unmarshal(body, &out) != nil || strings.TrimSpace(out.Value) == "" {
		return fail("the answer (HTTP %d) is not JSON with a \"value\"", resp.StatusCode)
	}
	if v := strings.TrimSpace(out.Value); len(v) > api.MaxSubjectTokenLen {
		return fail("its token is longer than %d bytes", api.MaxSubjectTokenLen)
	}
	return Token{Value: strings.TrimSpace(out.Value), Type: api.TokenTypeIDToken, From: from}, nil
}

// DefaultAudience is the audience asked for when --audience is not given:
// the tokend host's name, with :port only when it is not the scheme's
// default (https://tokend.example.com:443/api → tokend.example.com), so
// it does not depend on how the host was typed. Trust policies name the
// same string.
func DefaultAudience(hostURL string) string {
	u, err := url.Parse(hostURL)
	if err != nil || u.Host == "" {
		return ""
	}
	h, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return h
	}
	return net.JoinHostPort(h, port)
}
