package auth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// fakeAPI is a small in-memory stand-in for tokend's API v1 (user, create,
// delete, rotate), enough to drive the auth commands through real HTTP.
// The end-to-end scripts in internal/e2e run the same flows against the
// real tokend.
type fakeAPI struct {
	*httptest.Server
	mu        sync.Mutex
	passwords map[string]string
	tokens    map[string]*fakeToken // by secret
	requests  atomic.Int32
	now       time.Time
}

type fakeToken struct {
	api.Token
	user string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{passwords: map[string]string{"alice": "pw-alice"}, tokens: map[string]*fakeToken{}, now: time.Now().UTC()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/user", f.auth(func(w http.ResponseWriter, r *http.Request, user string, tok *fakeToken) {
		u := api.User{ID: "u-" + user, Username: user, AuthMethod: api.AuthPassword}
		if tok != nil {
			u.AuthMethod, u.Token = api.AuthToken, &tok.Token
		}
		writeJSON(w, 200, u)
	}))
	mux.HandleFunc("POST /v1/tokens", f.auth(func(w http.ResponseWriter, r *http.Request, user string, _ *fakeToken) {
		var req api.CreateTokenRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
			problem(w, 400, api.CodeValidation, "bad create request")
			return
		}
		life := 30 * 24 * time.Hour
		if req.ExpiresInSeconds != nil {
			life = time.Duration(*req.ExpiresInSeconds) * time.Second
		}
		writeJSON(w, 201, f.mint(user, req.Name, life))
	}))
	mux.HandleFunc("DELETE /v1/tokens/{id}", f.auth(func(w http.ResponseWriter, r *http.Request, user string, _ *fakeToken) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for s, t := range f.tokens {
			if t.ID == r.PathValue("id") && t.user == user {
				delete(f.tokens, s)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		problem(w, 404, api.CodeNotFound, "token not found")
	}))
	mux.HandleFunc("POST /v1/tokens/{id}/rotate", f.auth(func(w http.ResponseWriter, r *http.Request, user string, _ *fakeToken) {
		f.mu.Lock()
		var old *fakeToken
		for s, t := range f.tokens {
			if t.ID == r.PathValue("id") && t.user == user {
				old = t
				delete(f.tokens, s)
			}
		}
		f.mu.Unlock()
		if old == nil {
			problem(w, 404, api.CodeNotFound, "token not found")
			return
		}
		life := old.ExpiresAt.Sub(old.CreatedAt)
		ct := f.mint(user, old.Name, life)
		writeJSON(w, 200, ct)
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) mint(user, name string, life time.Duration) api.CreatedToken {
	s, err := secret.Generate("tkn_")
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeToken{user: user, Token: api.Token{
		ID: fmt.Sprintf("t%03d", len(f.tokens)+int(f.requests.Load())), Name: name, KeyHint: s.Hint(),
		CreatedAt: f.now, ExpiresAt: f.now.Add(life), Status: api.StatusActive,
	}}
	f.tokens[s.String()] = t
	return api.CreatedToken{Token: t.Token, Secret: s.String()}
}

// addToken stores a token for user expiring after life and returns its secret.
func (f *fakeAPI) addToken(user string, life time.Duration) string {
	return f.mint(user, "seeded", life).Secret
}

func (f *fakeAPI) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokens)
}

func (f *fakeAPI) auth(h func(http.ResponseWriter, *http.Request, string, *fakeToken)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if u, p, ok := r.BasicAuth(); ok {
			f.mu.Lock()
			want, known := f.passwords[u]
			f.mu.Unlock()
			if known && want == p {
				h(w, r, u, nil)
				return
			}
		} else if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			f.mu.Lock()
			t := f.tokens[b]
			f.mu.Unlock()
			if t != nil && f.now.Before(t.ExpiresAt) {
				h(w, r, t.user, t)
				return
			}
		}
		problem(w, 401, api.CodeUnauthorized, "authentication required")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", api.ProblemContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Status: status, Code: code, Detail: detail, Title: http.StatusText(status)})
}
