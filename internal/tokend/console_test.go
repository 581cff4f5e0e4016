package tokend

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// TestConsoleBesideTheAPI: the console owns / and its own paths; the API
// keeps /v1/, the health checks and every unknown path, which still gets
// the API's problem+json 404.
func TestConsoleBesideTheAPI(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tokend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(handler(server.Config{}, st, nil, false, consoleTimeouts{}))
	defer srv.Close()
	for _, c := range []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/", 200, "text/html; charset=utf-8", "<h1 id=\"title\">Sign in</h1>"},
		{"/static/console.css", 200, "text/css; charset=utf-8", "prefers-color-scheme"},
		{"/static/console.js", 200, "text/javascript; charset=utf-8", "select-all"},
		{"/activity", 303, "", ""}, // signed out: to the sign-in page
		{"/tokens/nope/more", 404, "text/html; charset=utf-8", "There is no such page."}, // the console's own 404
		{"/healthz", 200, "application/json", ""},
		{"/v1/user", 401, "application/problem+json", "unauthorized"},
		{"/v1/nope", 404, "application/problem+json", "no such endpoint"},
		{"/nope", 404, "application/problem+json", "no such endpoint"},
		{"/tokensx", 404, "application/problem+json", "no such endpoint"},
		{"/login/nope", 404, "text/html; charset=utf-8", "There is no such page."},
	} {
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.body) {
			t.Errorf("GET %s: %d %s, want %d %s with %q\n%s", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.status, c.ctype, c.body, b)
		}
	}
}
