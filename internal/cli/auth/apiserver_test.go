package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// apiServer is the real tokend handler tree over a real SQLite file in a
// temp dir, served by httptest, with a counter of the requests it saw.
type apiServer struct {
	*httptest.Server
	requests atomic.Int32
	// refuseDeletes makes every DELETE fail with 403.
	refuseDeletes atomic.Bool
	// info, when set, answers GET /v1/server if tokend itself does not
	// (404): the endpoint is another branch's work. Once tokend serves it,
	// its real answer is used and info is never read.
	info atomic.Pointer[api.ServerInfo]
	// older makes GET /v1/server a 404, as from a tokend before it.
	older atomic.Bool
}

// newAPIServer starts tokend's real handlers with user alice (password
// pw-alice) and any others named (password pw-<name>).
func newAPIServer(t *testing.T, others ...string) *apiServer {
	t.Helper()
	return newAPIServerWith(t, server.Config{}, others...)
}

// newAPIServerWith is newAPIServer with tokend configured by cfg.
func newAPIServerWith(t *testing.T, cfg server.Config, others ...string) *apiServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, name := range append([]string{"alice"}, others...) {
		hash, err := password.Hash("pw-" + name)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := st.CreateUser(ctx, store.User{ID: store.NewID(now), Username: name, PasswordHash: hash, CreatedAt: now.UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	s := &apiServer{}
	h := server.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodDelete && s.refuseDeletes.Load() {
			http.Error(w, "refused by the test", http.StatusForbidden)
			return
		}
		if s.older.Load() && r.URL.Path == "/v1/server" {
			w.Header().Set("Content-Type", api.ProblemContentType)
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.Problem{Type: "about:blank", Title: "Not Found", Status: 404, Code: api.CodeNotFound, Detail: "no such route"})
			return
		}
		if info := s.info.Load(); info != nil && r.Method == http.MethodGet && r.URL.Path == "/v1/server" {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code == http.StatusNotFound {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(info)
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) basicClient(t *testing.T) *client.Client {
	c, err := client.New(client.Options{Host: s.URL, Username: "alice", Password: "pw-alice"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addToken creates a token for alice expiring after life and returns its
// secret.
func (s *apiServer) addToken(t *testing.T, life time.Duration) string {
	t.Helper()
	secs := int64(life / time.Second)
	ct, err := s.basicClient(t).CreateToken(context.Background(), api.CreateTokenRequest{Name: "seeded", ExpiresInSeconds: &secs}, "")
	if err != nil {
		t.Fatal(err)
	}
	return ct.Secret
}

// tokenCount is how many tokens alice has.
func (s *apiServer) tokenCount(t *testing.T) int {
	t.Helper()
	n := 0
	for _, err := range s.basicClient(t).ListTokens(context.Background(), client.ListQuery{Status: api.StatusAll}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
