package oidcverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/netaddr"
	"github.com/tokenctl/tokenctl/internal/text"
)

// keySet is one successful fetch of an issuer's JWKS, read-only once built.
type keySet struct {
	byKID     map[string][]jose.JSONWebKey
	all       []jose.JSONWebKey
	fetchedAt time.Time
	now       func() time.Time
}

func (ks *keySet) age() time.Duration { return ks.now().Sub(ks.fetchedAt) }

// issuerKeys is the cache of one issuer. Fetches run one at a time; callers
// that need keys while one runs wait for it instead of starting another,
// and a new fetch starts at most once per MinRefetch, whatever the outcome
// of the last one, so no stream of tokens can make us hammer an issuer.
type issuerKeys struct {
	issuer string

	mu          sync.Mutex
	keys        *keySet       // last good set; nil until a fetch succeeded
	jwksURL     string        // from discovery; kept only while fetches succeed
	lastAttempt time.Time     // start of the last fetch
	lastErr     *Error        // outcome of the last fetch; nil when it succeeded
	inflight    chan struct{} // closed when the running fetch ends
}

func (v *Verifier) issuer(iss string) *issuerKeys {
	v.mu.Lock()
	defer v.mu.Unlock()
	ik := v.issuers[iss]
	if ik == nil {
		ik = &issuerKeys{issuer: iss}
		v.issuers[iss] = ik
	}
	return ik
}

// current returns the cached keys, fetching them first when there are none
// or they are older than MaxKeyAge (a failed refresh keeps the old ones).
func (ik *issuerKeys) current(ctx context.Context, v *Verifier) (*keySet, error) {
	ik.mu.Lock()
	ks := ik.keys
	ik.mu.Unlock()
	if ks != nil && ks.age() < v.maxKeyAge {
		return ks, nil
	}
	fresh, _, err := ik.refresh(ctx, v)
	if err != nil && ks != nil {
		return ks, nil
	}
	return fresh, err
}

// refresh fetches the key set unless the rate limit forbids it. fetched
// reports whether a fetch ran (ours or one we waited for); err is the
// fetch's failure, or the last failure when none ran and no keys exist.
func (ik *issuerKeys) refresh(ctx context.Context, v *Verifier) (ks *keySet, fetched bool, err error) {
	ik.mu.Lock()
	ch := ik.inflight
	if ch == nil {
		now := v.now()
		if !ik.lastAttempt.IsZero() && now.Sub(ik.lastAttempt) < v.minRefetch {
			ks, last := ik.keys, ik.lastErr
			next := ik.lastAttempt.Add(v.minRefetch).Sub(now).Round(time.Second)
			ik.mu.Unlock()
			switch {
			case ks != nil:
				return ks, false, nil
			case last != nil:
				return nil, false, &Error{Reason: last.Reason, Detail: fmt.Sprintf("%s (next try in %s)", last.Detail, next)}
			}
			return nil, false, reject(api.ReasonIssuerUnavailable, "no keys of %s yet; next try in %s", ik.issuer, next)
		}
		ch = make(chan struct{})
		ik.inflight = ch
		ik.lastAttempt = now
		// The fetch outlives the caller's cancellation: waiters share it,
		// and FetchTimeout bounds it.
		go ik.fetch(context.WithoutCancel(ctx), v, ik.jwksURL, ch)
	}
	ik.mu.Unlock()

	select {
	case <-ch:
	case <-ctx.Done():
		return nil, false, reject(api.ReasonIssuerUnavailable, "waiting for the keys of %s: %v", ik.issuer, ctx.Err())
	}
	ik.mu.Lock()
	defer ik.mu.Unlock()
	if ik.lastErr != nil {
		return ik.keys, true, ik.lastErr
	}
	return ik.keys, true, nil
}

func (ik *issuerKeys) fetch(ctx context.Context, v *Verifier, jwksURL string, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, v.fetchTimeout)
	defer cancel()
	ks, jwksURL, err := v.fetchKeys(ctx, ik.issuer, jwksURL)

	ik.mu.Lock()
	defer ik.mu.Unlock()
	if err != nil {
		ik.lastErr = err
		ik.jwksURL = "" // rediscover next time: the issuer may have moved its keys
	} else {
		ik.keys, ik.jwksURL, ik.lastErr = ks, jwksURL, nil
	}
	ik.inflight = nil
	close(done)
}

// fetchKeys runs discovery (unless jwksURL is already known) and fetches
// the JWKS.
func (v *Verifier) fetchKeys(ctx context.Context, issuer, jwksURL string) (*keySet, string, *Error) {
	if jwksURL == "" {
		wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
		// go-oidc fetches the document and checks that it names issuer.
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), issuer)
		if err != nil {
			return nil, "", v.unavailable(ctx, "discovery at "+wellKnown, err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
			return nil, "", reject(api.ReasonIssuerUnavailable, "discovery at %s: the document has no jwks_uri", wellKnown)
		}
		u, err := url.Parse(doc.JWKSURI)
		if err != nil || !fetchAllowed(u) {
			return nil, "", reject(api.ReasonIssuerUnavailable, "discovery at %s: jwks_uri %q is not https (http only on a loopback address)", wellKnown, doc.JWKSURI)
		}
		jwksURL = doc.JWKSURI
	}

	what := "fetching " + jwksURL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, "", v.unavailable(ctx, what, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, "", v.unavailable(ctx, what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", reject(api.ReasonIssuerUnavailable, "%s: HTTP %d", what, resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", v.unavailable(ctx, what, err)
	}
	ks, perr := parseKeySet(body)
	if perr != nil {
		return nil, "", reject(api.ReasonIssuerUnavailable, "%s: %v", what, perr)
	}
	ks.fetchedAt, ks.now = v.now(), v.now
	return ks, jwksURL, nil
}

// parseKeySet keeps the public signing keys of a JWKS; keys of a type we
// cannot use (symmetric, encryption-only, unknown) are skipped.
func parseKeySet(body []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Keys == nil {
		return nil, errors.New("the answer is not a JSON Web Key Set")
	}
	ks := &keySet{byKID: map[string][]jose.JSONWebKey{}}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || k.Use == "enc" {
			continue
		}
		if !k.IsPublic() {
			k = k.Public() // a symmetric key has no public half: Key becomes nil
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			continue
		}
		ks.all = append(ks.all, k)
		ks.byKID[k.KeyID] = append(ks.byKID[k.KeyID], k)
	}
	if len(ks.all) == 0 {
		return nil, errors.New("the key set holds no usable public signing key")
	}
	return ks, nil
}

// unavailable turns a fetch error into one line for an operator.
func (v *Verifier) unavailable(ctx context.Context, what string, err error) *Error {
	var nerr net.Error
	var mismatch *oidc.IssuerMismatchError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &nerr) && nerr.Timeout()):
		return reject(api.ReasonIssuerUnavailable, "%s: timed out after %s", what, v.fetchTimeout)
	case errors.As(err, &mismatch):
		return reject(api.ReasonIssuerUnavailable, "%s: the document names issuer %q, not %q", what, mismatch.Discovered, mismatch.Provided)
	case errors.Is(err, errTooLarge) || strings.Contains(err.Error(), errTooLarge.Error()):
		// go-oidc formats the read error with %v, hence the text match.
		return reject(api.ReasonIssuerUnavailable, "%s: %v", what, errTooLarge)
	}
	return reject(api.ReasonIssuerUnavailable, "%s: %s", what, text.Truncate(text.OneLine(err.Error()), 200))
}

var errTooLarge = fmt.Errorf("answer larger than %d KiB", maxDocumentSize>>10)

// boundedClient wraps c (or a new client) so that every answer is cut at
// maxDocumentSize and redirects stay on https.
func boundedClient(c *http.Client, timeout time.Duration) *http.Client {
	nc := &http.Client{Timeout: timeout}
	if c != nil {
		cp := *c
		nc = &cp
	}
	base := nc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	nc.Transport = limitTransport{base}
	nc.CheckRedirect = checkRedirect
	return nc
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("more than 3 redirects")
	}
	if !fetchAllowed(req.URL) {
		return fmt.Errorf("redirect to %s refused: only https (http only on a loopback address)", req.URL.Redacted())
	}
	return nil
}

// fetchAllowed is CheckIssuerURL's scheme rule for the URLs keys come from.
func fetchAllowed(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return u.Host != ""
	case "http":
		return netaddr.IsLoopback(u.Hostname())
	}
	return false
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxDocumentSize + 1}
	}
	return resp, err
}

// limitedBody fails once more than maxDocumentSize bytes were read.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left <= 0 {
		return n, errTooLarge
	}
	return n, err
}
