package client_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// TestServerInfoAgainstTokend reads GET /v1/server from the real handlers
// of a tokend whose maximum lifetime is one hour (issue 20 item 7), and
// sends no credential although the client holds a password.
func TestServerInfoAgainstTokend(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := server.New(server.Config{MaxLifetime: time.Hour, TokenPrefix: "acme_"}, st, slog.New(slog.DiscardHandler))
	var sawAuth atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Store(true)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	c, err := client.New(client.Options{Host: srv.URL, Username: "alice", Password: "never-sent"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.ServerInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.MaxTokenLifetimeSeconds != 3600 || info.DefaultLoginLifetimeSeconds != 3600 || info.DefaultTokenLifetimeSeconds != 3600 ||
		info.TokenPrefix != "acme_" || !info.PasswordLogin || info.MaxPageSize != api.MaxPageSize {
		t.Errorf("ServerInfo = %+v", info)
	}
	if sawAuth.Load() {
		t.Error("ServerInfo sent the client's credential")
	}
}
