// Package oidctest is a real OIDC issuer for tests: a discovery document and
// a JWKS over HTTP on 127.0.0.1, RSA and EC signing keys, key rotation,
// misbehaving key endpoints, hostile tokens, and a stand-in for the GitHub
// Actions runner's ID-token endpoint. Tests take it with NewIssuer(t);
// code without a *testing.T (a testscript Setup) uses StartIssuer and Close:
//
//	iss, err := oidctest.StartIssuer()
//	...
//	env.Defer(iss.Close)
//	ar, err := oidctest.StartActionsRunner(iss, oidctest.GitHubClaims("org/repo", "refs/heads/main", "1"))
//	...
//	env.Defer(ar.Close)
//	env.Setenv("ISSUER_URL", iss.URL())
//	for _, kv := range ar.Environ() { ... }
//
// Mint takes anything with Fatalf, testscript's *TestScript included, so
// custom testscript commands can mint hostile tokens too.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Mode is how an endpoint of the issuer answers.
type Mode int

const (
	Normal      Mode = iota // the real document
	Hang                    // never answers (until the request is cancelled or the issuer closes)
	Garbage                 // 200 with a body that is not JSON
	ServerError             // 500
	TooLarge                // 200 with a 2 MiB JSON body
)

// Fataler is what Mint needs to fail a test: *testing.T, *testing.B and
// testscript's *TestScript all have it.
type Fataler interface {
	Fatalf(format string, args ...any)
}

// Issuer is a running test issuer. Its methods are safe for concurrent use.
type Issuer struct {
	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu        sync.Mutex
	rsaKey    signingKey
	ecKey     signingKey
	published []signingKey // what the JWKS lists
	gen       int
	jwksMode  Mode
	discMode  Mode

	jwksFetches      atomic.Int64
	discoveryFetches atomic.Int64
}

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// NewIssuer starts an issuer that closes when t's test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss, err := StartIssuer()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// StartIssuer starts an issuer; the caller must Close it.
func StartIssuer() (*Issuer, error) {
	iss := &Issuer{closing: make(chan struct{})}
	if err := iss.rotate(false); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", iss.serveJWKS)
	srv := httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv.Listener = l
	srv.Start()
	iss.srv = srv
	return iss, nil
}

// Close stops the server, releasing any hanging request first.
func (iss *Issuer) Close() {
	iss.once.Do(func() {
		close(iss.closing)
		iss.srv.Close()
	})
}

// URL is the issuer URL (http://127.0.0.1:PORT), the iss of its tokens.
func (iss *Issuer) URL() string { return iss.srv.URL }

// JWKSURL is where the key set is published.
func (iss *Issuer) JWKSURL() string { return iss.srv.URL + "/.well-known/jwks" }

// JWKSFetches counts requests to the JWKS endpoint, whatever the mode.
func (iss *Issuer) JWKSFetches() int { return int(iss.jwksFetches.Load()) }

// DiscoveryFetches counts requests for the discovery document.
func (iss *Issuer) DiscoveryFetches() int { return int(iss.discoveryFetches.Load()) }

// SetJWKSMode changes how the JWKS endpoint answers from the next request.
func (iss *Issuer) SetJWKSMode(m Mode) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.jwksMode = m
}

// SetDiscoveryMode changes how the discovery endpoint answers.
func (iss *Issuer) SetDiscoveryMode(m Mode) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.discMode = m
}

// RotateKeys makes new RSA and EC keys (with new kids) current and removes
// the old ones from the JWKS.
func (iss *Issuer) RotateKeys() {
	if err := iss.rotate(false); err != nil {
		panic(err) // key generation failing is not a test outcome
	}
}

// RotateKeysKeepOld makes new keys current but keeps publishing the old
// ones, as issuers do during a rotation's overlap.
func (iss *Issuer) RotateKeysKeepOld() {
	if err := iss.rotate(true); err != nil {
		panic(err)
	}
}

// KeyIDs returns the kids of the current RSA and EC keys.
func (iss *Issuer) KeyIDs() (rsaKID, ecKID string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.rsaKey.kid, iss.ecKey.kid
}

func (iss *Issuer) rotate(keepOld bool) error {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate RSA key: %w", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate EC key: %w", err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.gen++
	iss.rsaKey = signingKey{kid: fmt.Sprintf("rsa-%d", iss.gen), alg: jose.RS256, priv: rk}
	iss.ecKey = signingKey{kid: fmt.Sprintf("ec-%d", iss.gen), alg: jose.ES256, priv: ek}
	if !keepOld {
		iss.published = nil
	}
	iss.published = append(iss.published, iss.rsaKey, iss.ecKey)
	return nil
}

func (iss *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	iss.discoveryFetches.Add(1)
	iss.mu.Lock()
	mode := iss.discMode
	iss.mu.Unlock()
	if iss.misbehave(w, r, mode) {
		return
	}
	// The members GitHub's issuer publishes.
	writeJSON(w, map[string]any{
		"issuer":                                iss.URL(),
		"jwks_uri":                              iss.JWKSURL(),
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "run_id", "workflow_ref", "environment", "project_path"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		"scopes_supported":                      []string{"openid"},
	})
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.jwksFetches.Add(1)
	iss.mu.Lock()
	mode := iss.jwksMode
	set := jose.JSONWebKeySet{}
	for _, k := range iss.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	iss.mu.Unlock()
	if iss.misbehave(w, r, mode) {
		return
	}
	writeJSON(w, set)
}

// misbehave answers per mode and reports whether it did.
func (iss *Issuer) misbehave(w http.ResponseWriter, r *http.Request, m Mode) bool {
	switch m {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-iss.closing:
		}
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>\x00\xff"))
	case ServerError:
		http.Error(w, "internal error", http.StatusInternalServerError)
	case TooLarge:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[],"padding":"`))
		_, _ = w.Write([]byte(strings.Repeat("x", 2<<20)))
		_, _ = w.Write([]byte(`"}`))
	default:
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// MintOption changes how Mint makes a token.
type MintOption func(*mintConfig)

type mintConfig struct {
	key      string // "rsa" or "ec"
	alg      jose.SignatureAlgorithm
	headers  map[string]any
	lifetime time.Duration
	at       time.Time
	without  []string
	kid      *string
}

// WithKey signs with the current "rsa" (RS256, the default) or "ec" (ES256) key.
func WithKey(kind string) MintOption { return func(c *mintConfig) { c.key = kind } }

// WithAlgorithm signs with another algorithm of the chosen key's family
// (PS256 with the RSA key, say).
func WithAlgorithm(alg string) MintOption {
	return func(c *mintConfig) { c.alg = jose.SignatureAlgorithm(alg) }
}

// WithHeader adds a protected header (WithHeader("kid", "x") replaces the kid).
func WithHeader(k string, v any) MintOption {
	return func(c *mintConfig) {
		if k == "kid" {
			s := fmt.Sprint(v)
			c.kid = &s
			return
		}
		c.headers[k] = v
	}
}

// WithoutKid leaves the kid header out.
func WithoutKid() MintOption { return func(c *mintConfig) { e := ""; c.kid = &e } }

// WithLifetime sets exp to iat + d (default 10m; negative gives an expired token).
func WithLifetime(d time.Duration) MintOption { return func(c *mintConfig) { c.lifetime = d } }

// WithTime sets the time iat and nbf say (default now); exp follows it.
func WithTime(t time.Time) MintOption { return func(c *mintConfig) { c.at = t } }

// WithoutClaims leaves out claims Mint would otherwise fill (iss, iat, nbf, exp, jti).
func WithoutClaims(names ...string) MintOption {
	return func(c *mintConfig) { c.without = append(c.without, names...) }
}

// Mint signs claims with the issuer's current key. iss, iat, nbf, exp and
// jti (random) are filled unless claims give them.
func (iss *Issuer) Mint(t Fataler, claims map[string]any, opts ...MintOption) string {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	tok, err := iss.Sign(claims, opts...)
	if err != nil {
		t.Fatalf("oidctest: mint: %v", err)
	}
	return tok
}

// Sign is Mint returning its error, for callers without a test.
func (iss *Issuer) Sign(claims map[string]any, opts ...MintOption) (string, error) {
	c := iss.config(opts)
	payload, err := json.Marshal(iss.fill(claims, c))
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	return iss.signBytes(payload, c)
}

// MintRaw signs payload exactly as given (duplicate keys, odd types...),
// with nothing filled in.
func (iss *Issuer) MintRaw(t Fataler, payload []byte, opts ...MintOption) string {
	tok, err := iss.signBytes(payload, iss.config(opts))
	if err != nil {
		t.Fatalf("oidctest: mint: %v", err)
	}
	return tok
}

func (iss *Issuer) config(opts []MintOption) mintConfig {
	c := mintConfig{key: "rsa", lifetime: 10 * time.Minute, headers: map[string]any{}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (iss *Issuer) signBytes(payload []byte, c mintConfig) (string, error) {
	iss.mu.Lock()
	var k signingKey
	switch c.key {
	case "rsa":
		k = iss.rsaKey
	case "ec":
		k = iss.ecKey
	default:
		iss.mu.Unlock()
		return "", fmt.Errorf("unknown key %q (want rsa or ec)", c.key)
	}
	iss.mu.Unlock()
	if c.alg == "" {
		c.alg = k.alg
	}
	kid := k.kid
	if c.kid != nil {
		kid = *c.kid
	}
	so := (&jose.SignerOptions{}).WithType("JWT")
	for h, v := range c.headers {
		so = so.WithHeader(jose.HeaderKey(h), v)
	}
	if kid != "" {
		so = so.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: k.priv}, so)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

func signPayload(signer jose.Signer, body map[string]any) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// fill copies claims and adds the registered claims they lack.
func (iss *Issuer) fill(claims map[string]any, c mintConfig) map[string]any {
	at := c.at
	if at.IsZero() {
		at = time.Now()
	}
	out := map[string]any{
		"iss": iss.URL(),
		"iat": at.Unix(),
		"nbf": at.Unix(),
		"exp": at.Add(c.lifetime).Unix(),
		"jti": randomHex(16),
	}
	for _, n := range c.without {
		delete(out, n)
	}
	for k, v := range claims {
		out[k] = v
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MintNone makes an unsigned token (alg "none"), claims filled as by Mint.
func (iss *Issuer) MintNone(t Fataler, claims map[string]any) string {
	header := `{"alg":"none","typ":"JWT"}`
	payload, err := json.Marshal(iss.fill(claims, mintConfig{lifetime: 10 * time.Minute}))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "."
}

// MintHS256WithPublicKey makes the algorithm-confusion token: HS256 keyed
// with the bytes of the issuer's published RSA public key (its DER, or its
// PEM with pem=true), naming the RSA key's kid, as a verifier that lets
// the token choose the algorithm would check it.
func (iss *Issuer) MintHS256WithPublicKey(t Fataler, claims map[string]any, pem bool) string {
	iss.mu.Lock()
	k := iss.rsaKey
	iss.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	secret := der
	if pem {
		secret = []byte("-----BEGIN PUBLIC KEY-----\n" + wrap64(base64.StdEncoding.EncodeToString(der)) + "-----END PUBLIC KEY-----\n")
	}
	so := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, so)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	tok, err := signPayload(signer, iss.fill(claims, mintConfig{lifetime: 10 * time.Minute}))
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	return tok
}

func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// MintWithUnknownKid signs with the current RSA key but names a kid the
// JWKS does not list.
func (iss *Issuer) MintWithUnknownKid(t Fataler, claims map[string]any, opts ...MintOption) string {
	opts = append(opts, WithHeader("kid", "unknown-"+randomHex(4)))
	return iss.Mint(t, claims, opts...)
}

// Tamper changes claims in a signed token's payload (set sets a claim; a
// nil value removes it) and keeps the original header and signature.
func Tamper(t Fataler, token string, set map[string]any) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("oidctest: tamper: not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(payload, &claims)
	}
	if err != nil {
		t.Fatalf("oidctest: tamper: %v", errors.Join(errors.New("payload"), err))
	}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	payload, err = json.Marshal(claims)
	if err != nil {
		t.Fatalf("oidctest: tamper: %v", err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}
