package oidcverify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Defaults of Options.
const (
	DefaultFetchTimeout = 5 * time.Second
	DefaultMinRefetch   = time.Minute
	DefaultLeeway       = time.Minute
	DefaultMaxKeyAge    = time.Hour
	// maxDocumentSize bounds the discovery document and the JWKS: real ones
	// are a few KB; a larger answer is garbage or hostile.
	maxDocumentSize = 1 << 20
)

// allowedAlgorithms are the asymmetric JWS algorithms. Never "none", never
// HMAC: with HMAC the "key" would be something the verifier publishes.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Options tunes a Verifier; the zero value of each field means its default.
type Options struct {
	// HTTPClient fetches discovery documents and key sets. Nil means a
	// client with FetchTimeout. Whichever client is used, answers are cut
	// at 1 MiB and redirects are followed only to https (http only between
	// loopback addresses), at most 3.
	HTTPClient *http.Client
	// FetchTimeout bounds discovery plus the JWKS fetch together: a hanging
	// issuer costs a verification at most this (default 5s).
	FetchTimeout time.Duration
	// MinRefetch is the least time between two fetches for one issuer,
	// whether the last one failed or found no key for a kid (default 1m).
	MinRefetch time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (default 1m).
	Leeway time.Duration
	// MaxKeyAge is how long a fetched key set is used before it is fetched
	// again, so a key the issuer withdrew stops verifying (default 1h). A
	// failed refresh keeps the old keys.
	MaxKeyAge time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Verifier checks identity tokens against their issuers' keys. It caches
// each issuer's keys for its lifetime, so callers pass only issuers a trust
// policy names (PeekIssuer first). It is safe for concurrent use.
type Verifier struct {
	client       *http.Client
	fetchTimeout time.Duration
	minRefetch   time.Duration
	leeway       time.Duration
	maxKeyAge    time.Duration
	now          func() time.Time

	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

// New returns a Verifier with o's settings.
func New(o Options) *Verifier {
	v := &Verifier{
		fetchTimeout: o.FetchTimeout,
		minRefetch:   o.MinRefetch,
		leeway:       o.Leeway,
		maxKeyAge:    o.MaxKeyAge,
		now:          o.Now,
		issuers:      map[string]*issuerKeys{},
	}
	if v.fetchTimeout <= 0 {
		v.fetchTimeout = DefaultFetchTimeout
	}
	if v.minRefetch <= 0 {
		v.minRefetch = DefaultMinRefetch
	}
	if v.leeway <= 0 {
		v.leeway = DefaultLeeway
	}
	if v.maxKeyAge <= 0 {
		v.maxKeyAge = DefaultMaxKeyAge
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.client = boundedClient(o.HTTPClient, v.fetchTimeout)
	return v
}

// Identity is what a verified token says about its bearer.
type Identity struct {
	Issuer, Subject, ID string // ID is jti ("" when absent)
	Audience            []string
	// Expiry is always set; IssuedAt and NotBefore are zero when absent.
	Expiry, IssuedAt, NotBefore time.Time
	// Claims holds every claim, decoded (json.Number for numbers).
	Claims map[string]any
}

// Error is a refused token. Reason is an api.Reason* constant; Detail is
// one line for an operator and never contains the token.
type Error struct{ Reason, Detail string }

func (e *Error) Error() string {
	if e.Detail == "" {
		return "identity token rejected: " + e.Reason
	}
	return "identity token rejected (" + e.Reason + "): " + e.Detail
}

func reject(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// parse checks size and shape and the algorithm allow-list.
func parse(raw string) (*jose.JSONWebSignature, error) {
	if len(raw) > api.MaxSubjectTokenLen {
		return nil, reject(api.ReasonTooLarge, "the token is %d bytes; at most %d are accepted", len(raw), api.MaxSubjectTokenLen)
	}
	if raw == "" {
		return nil, reject(api.ReasonMalformed, "the token is empty")
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgorithms)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) && alg.Got != "" {
			return nil, reject(api.ReasonUnsupportedAlgorithm, "alg %q is not accepted; the issuer must sign with RS*, PS*, ES* or EdDSA", alg.Got)
		}
		return nil, reject(api.ReasonMalformed, "not a compact JWS (header.payload.signature, base64url)")
	}
	return jws, nil
}

// PeekIssuer returns the iss of a compact JWS without verifying anything,
// to pick the trust policies that apply. A malformed token is an *Error with
// api.ReasonMalformed, one longer than api.MaxSubjectTokenLen
// api.ReasonTooLarge, one with a refused algorithm
// api.ReasonUnsupportedAlgorithm.
func PeekIssuer(raw string) (string, error) {
	jws, err := parse(raw)
	if err != nil {
		return "", err
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := josejson.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return "", reject(api.ReasonMalformed, "the payload is not a JSON object of claims, or its iss is not a string")
	}
	if c.Issuer == "" {
		return "", reject(api.ReasonMalformed, "the token has no iss claim")
	}
	return c.Issuer, nil
}

// Verify checks that raw was signed by one of issuer's current keys (found
// by OIDC discovery and cached), that its iss is issuer, that its aud names
// one of audiences, and its exp (required), nbf and iat (optional) with the
// Leeway. Every refusal is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw, issuer string, audiences []string) (*Identity, error) {
	jws, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if err := CheckIssuerURL(issuer); err != nil {
		return nil, reject(api.ReasonUntrustedIssuer, "%v", err)
	}
	// The claims are decoded once, before the signature check; they are
	// trusted only once it passes (it covers these very bytes).
	id, std, err := decodeClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, err
	}
	// A token for another issuer never makes us fetch anything.
	if std.Issuer != issuer {
		return nil, reject(api.ReasonUntrustedIssuer, "iss is %q, expected %q", std.Issuer, issuer)
	}
	hdr := jws.Signatures[0].Header
	if err := v.verifySignature(ctx, jws, hdr.KeyID, jose.SignatureAlgorithm(hdr.Algorithm), issuer); err != nil {
		return nil, err
	}
	if err := v.validate(std, issuer, audiences); err != nil {
		return nil, err
	}
	return id, nil
}

// verifySignature finds the key (fetching the key set when the kid is new
// and the rate limit allows) and checks the signature with it.
func (v *Verifier) verifySignature(ctx context.Context, jws *jose.JSONWebSignature, kid string, alg jose.SignatureAlgorithm, issuer string) error {
	ik := v.issuer(issuer)
	ks, err := ik.current(ctx, v)
	for attempt := 0; ; attempt++ {
		if err != nil {
			return err
		}
		var cands []jose.JSONWebKey
		if kid != "" {
			cands = ks.byKID[kid]
		} else {
			// Without a kid, every key of a type that fits the alg is a
			// candidate (GitHub and GitLab always send a kid).
			for _, k := range ks.all {
				if keyFits(k, alg) {
					cands = append(cands, k)
				}
			}
		}
		if len(cands) > 0 {
			verr := verifyWith(jws, cands, kid, alg)
			if verr == nil || kid != "" || attempt > 0 {
				return verr
			}
		}
		if attempt > 0 {
			return unknownKey(kid, alg, issuer, ks)
		}
		// A kid we do not know (or no kid and no key that verifies): the
		// issuer may have rotated; refetch unless we fetched recently.
		var fetched bool
		ks, fetched, err = ik.refresh(ctx, v)
		if err == nil && !fetched {
			if len(cands) > 0 {
				return reject(api.ReasonBadSignature, "no key of %s verifies the signature", issuer)
			}
			return unknownKey(kid, alg, issuer, ks)
		}
	}
}

func unknownKey(kid string, alg jose.SignatureAlgorithm, issuer string, ks *keySet) *Error {
	if kid == "" {
		return reject(api.ReasonUnknownKey, "the token has no kid and %s publishes no %s key that verifies it", issuer, alg)
	}
	return reject(api.ReasonUnknownKey, "kid %q is not in the key set of %s (fetched %s ago)", kid, issuer, ks.age().Round(time.Second))
}

func verifyWith(jws *jose.JSONWebSignature, cands []jose.JSONWebKey, kid string, alg jose.SignatureAlgorithm) error {
	var fitting int
	for _, k := range cands {
		if !keyFits(k, alg) {
			continue
		}
		fitting++
		if _, err := jws.Verify(k.Key); err == nil {
			return nil
		}
	}
	if fitting == 0 {
		k := cands[0]
		if k.Algorithm != "" {
			return reject(api.ReasonBadSignature, "key %q is published for %s; the token says %s", kid, k.Algorithm, alg)
		}
		return reject(api.ReasonBadSignature, "key %q is a %s key; it cannot verify %s", kid, keyKind(k), alg)
	}
	return reject(api.ReasonBadSignature, "the signature does not verify with key %q", kid)
}

// keyFits says whether k can verify a signature made with alg.
func keyFits(k jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return pub.Curve == elliptic.P256()
		case jose.ES384:
			return pub.Curve == elliptic.P384()
		case jose.ES512:
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

func keyKind(k jose.JSONWebKey) string {
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k.Key)
}

// decodeClaims reads the payload into the registered claims and the map of
// all claims.
func decodeClaims(payload []byte) (*Identity, *jwt.Claims, error) {
	// go-jose's decoder matches names exactly and refuses duplicate keys,
	// so "SUB" or a second "sub" cannot make the registered claims differ
	// from the map of all claims.
	var std jwt.Claims
	if err := josejson.Unmarshal(payload, &std); err != nil {
		return nil, nil, reject(api.ReasonMalformed, "the payload is not a JSON object of claims, or a registered claim (iss, sub, aud, exp, nbf, iat, jti) has the wrong type")
	}
	all := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&all); err != nil {
		return nil, nil, reject(api.ReasonMalformed, "the payload is not a JSON object of claims")
	}
	if std.Expiry == nil {
		return nil, nil, reject(api.ReasonMalformed, "the token has no exp claim; only expiring tokens are accepted")
	}
	id := &Identity{
		Issuer:   std.Issuer,
		Subject:  std.Subject,
		ID:       std.ID,
		Audience: []string(std.Audience),
		Expiry:   std.Expiry.Time(),
		Claims:   all,
	}
	if std.IssuedAt != nil {
		id.IssuedAt = std.IssuedAt.Time()
	}
	if std.NotBefore != nil {
		id.NotBefore = std.NotBefore.Time()
	}
	return id, &std, nil
}

// validate checks iss, aud and the times of verified claims.
func (v *Verifier) validate(std *jwt.Claims, issuer string, audiences []string) error {
	if len(audiences) == 0 {
		// Fail closed: a caller that expects no audience accepts nothing.
		return reject(api.ReasonWrongAudience, "no audience is expected for %s", issuer)
	}
	now := v.now()
	err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: audiences, Time: now}, v.leeway)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return reject(api.ReasonUntrustedIssuer, "iss is %q, expected %q", std.Issuer, issuer)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return reject(api.ReasonWrongAudience, "aud %q names none of the expected audiences %q", []string(std.Audience), audiences)
	case errors.Is(err, jwt.ErrExpired):
		return reject(api.ReasonExpired, "expired at %s (now %s, skew allowed %s)", std.Expiry.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	case errors.Is(err, jwt.ErrNotValidYet):
		return reject(api.ReasonNotYetValid, "not valid before %s (now %s, skew allowed %s)", std.NotBefore.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return reject(api.ReasonIssuedInFuture, "issued at %s, in the future (now %s, skew allowed %s)", std.IssuedAt.Time().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	}
	return reject(api.ReasonMalformed, "claims do not validate")
}
