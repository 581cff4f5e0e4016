// Package ssotest runs a real OpenID provider for tests of the browser
// sign-in: zitadel/oidc v3's op package with its example server's storage
// and login form (a username and password page), on a loopback port. It
// signs ID tokens with RS256, publishes discovery and JWKS, and does the
// authorization code flow with PKCE exactly as a production provider does;
// the test only chooses its users and tokend's client registration.
package ssotest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is an account at the provider.
type User struct {
	ID, Username, Password, Email string
	Groups                        []string // sent as the groups claim
}

// Provider is a running provider.
type Provider struct {
	Issuer       string // http://127.0.0.1:PORT
	ClientID     string
	ClientSecret string

	mu        sync.Mutex
	redirects []string
	audience  []string            // when set, ID tokens claim this aud instead
	groups    map[string][]string // by user id
}

// Start runs a provider with users until the test ends. tokend is its one
// client, ClientID/ClientSecret; AllowRedirect registers its callback once
// tokend's address is known.
func Start(t testing.TB, users ...User) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Issuer: "http://" + ln.Addr().String(), ClientID: "tokend", ClientSecret: "tokend-client-secret-7c1d", groups: map[string][]string{}}
	all := map[string]*storage.User{}
	for _, u := range users {
		all[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, Email: u.Email, EmailVerified: true,
			FirstName: u.Username, LastName: "Test", PreferredLanguage: language.English}
		p.groups[u.ID] = u.Groups
	}
	// The example's user store reads its users from a JSON file.
	path := filepath.Join(t.TempDir(), "users.json")
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	us, err := storage.StoreFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	client := storage.WebClient(p.ClientID, p.ClientSecret, "http://127.0.0.1/unused")
	st := &opStorage{Storage: storage.NewStorageWithClients(us, map[string]*storage.Client{p.ClientID: client}), p: p}
	srv := &http.Server{Handler: exampleop.SetupServer(p.Issuer, st, nil, false)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return p
}

// AllowRedirect registers uri (tokend's /login/callback) for the client.
func (p *Provider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects = append(p.redirects, uri)
}

// opStorage is the example storage with tokend's client registration and
// a groups claim added.
type opStorage struct {
	*storage.Storage
	p *Provider
}

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &opClient{Client: c, p: s.p}, nil
}

func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, token, scopes); err != nil {
		return err
	}
	s.p.mu.Lock()
	groups := s.p.groups[token.GetSubject()]
	s.p.mu.Unlock()
	if groups != nil {
		ui.AppendClaims("groups", groups)
	}
	return nil
}

// IssueForAudience makes the provider's ID tokens claim aud instead of
// the client they are issued to: a provider (or a token) for another
// client, which tokend must refuse.
func (p *Provider) IssueForAudience(aud ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audience = aud
}

// opClient puts the userinfo claims (email, preferred_username, groups)
// in the ID token, as Okta, Entra ID, Google and Keycloak do by default.
type opClient struct {
	op.Client
	p *Provider
}

func (c *opClient) RedirectURIs() []string {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return append([]string{}, c.p.redirects...)
}

func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// AuthRequestByCode is the example's, with the audience IssueForAudience
// set: the op puts the request's audience in the ID token's aud.
func (s *opStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	ar, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	s.p.mu.Lock()
	aud := s.p.audience
	s.p.mu.Unlock()
	if aud == nil {
		return ar, nil
	}
	return audienceRequest{AuthRequest: ar, aud: aud}, nil
}

type audienceRequest struct {
	op.AuthRequest
	aud []string
}

func (a audienceRequest) GetAudience() []string { return a.aud }
func (a audienceRequest) GetClientID() string   { return a.aud[0] }

// GetID is the client's id, or, once IssueForAudience was called, the
// audience it set, so the op's check that the code was issued to this
// client holds while it mints the ID token for the other one.
func (c *opClient) GetID() string {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if len(c.p.audience) > 0 {
		return c.p.audience[0]
	}
	return c.Client.GetID()
}
