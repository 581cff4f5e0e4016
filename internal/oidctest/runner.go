package oidctest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ActionsRunner stands in for the GitHub Actions runner's ID-token
// endpoint: GET ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with
// "Authorization: bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN" answers
// {"count": N, "value": JWT} with the runner's claims and aud=AUD, minted
// fresh (new jti) by the issuer on every request.
type ActionsRunner struct {
	srv      *httptest.Server
	iss      *Issuer
	token    string
	requests atomic.Int64

	mu     sync.Mutex
	claims map[string]any
	mode   Mode
	last   string // audience of the last request
}

// NewActionsRunner starts a runner endpoint that closes when t's test ends.
func NewActionsRunner(t testing.TB, iss *Issuer, claims map[string]any) *ActionsRunner {
	t.Helper()
	ar, err := StartActionsRunner(iss, claims)
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	t.Cleanup(ar.Close)
	return ar
}

// StartActionsRunner starts a runner endpoint; the caller must Close it.
func StartActionsRunner(iss *Issuer, claims map[string]any) (*ActionsRunner, error) {
	ar := &ActionsRunner{iss: iss, token: "runner-" + randomHex(16), claims: claims}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ar.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv.Listener = l
	srv.Start()
	ar.srv = srv
	return ar, nil
}

// Close stops the endpoint.
func (ar *ActionsRunner) Close() { ar.srv.Close() }

// RequestURL is what ACTIONS_ID_TOKEN_REQUEST_URL holds. Like the real one
// it already has a query, so a client must append &audience=, not ?audience=.
func (ar *ActionsRunner) RequestURL() string {
	return ar.srv.URL + "/_apis/distributedtask/hubs/Actions/plans/1/jobs/1/idtoken?api-version=2.0"
}

// RequestToken is what ACTIONS_ID_TOKEN_REQUEST_TOKEN holds.
func (ar *ActionsRunner) RequestToken() string { return ar.token }

// Environ is what a GitHub Actions job with "id-token: write" has in its
// environment for this endpoint, as KEY=VALUE.
func (ar *ActionsRunner) Environ() []string {
	return []string{
		"GITHUB_ACTIONS=true",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + ar.RequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + ar.RequestToken(),
	}
}

// Requests counts the requests answered with a token.
func (ar *ActionsRunner) Requests() int { return int(ar.requests.Load()) }

// LastAudience is the audience the last successful request asked for.
func (ar *ActionsRunner) LastAudience() string {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.last
}

// SetClaims replaces the claims of the tokens minted from now on.
func (ar *ActionsRunner) SetClaims(claims map[string]any) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.claims = claims
}

// SetMode makes the endpoint misbehave (Hang, Garbage, ServerError).
func (ar *ActionsRunner) SetMode(m Mode) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.mode = m
}

func (ar *ActionsRunner) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Query().Get("api-version") == "" {
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(ar.token)) != 1 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Unauthorized"}`))
		return
	}
	ar.mu.Lock()
	mode := ar.mode
	claims := make(map[string]any, len(ar.claims)+1)
	for k, v := range ar.claims {
		claims[k] = v
	}
	ar.mu.Unlock()
	if mode != Normal {
		ar.iss.misbehave(w, r, mode)
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		// GitHub's default audience is the repository owner's URL.
		owner, _ := claims["repository_owner"].(string)
		aud = "https://github.com/" + owner
	}
	claims["aud"] = aud
	jwt, err := ar.iss.Sign(claims)
	if err != nil {
		http.Error(w, `{"message":"mint failed"}`, http.StatusInternalServerError)
		return
	}
	n := ar.requests.Add(1)
	ar.mu.Lock()
	ar.last = aud
	ar.mu.Unlock()
	writeJSON(w, map[string]any{"count": n, "value": jwt})
}
