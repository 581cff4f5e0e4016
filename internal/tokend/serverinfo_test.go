package tokend

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/exitcode"
)

// TestServeLoginLifetime: --login-lifetime is what GET /v1/server tells
// tokenctl's login to ask for; unset it is 90 days cut to --max-lifetime,
// and set past --max-lifetime it is a usage error naming the flag.
func TestServeLoginLifetime(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "login.db"))
	_, _, err := run(t, "", nil, "serve", "--addr", "127.0.0.1:0", "--database", db, "--max-lifetime", "24h", "--login-lifetime", "48h")
	var ue *exitcode.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--login-lifetime") {
		t.Fatalf("--login-lifetime over --max-lifetime: %v, want a usage error naming the flag", err)
	}
	for _, c := range []struct {
		args       []string
		login, max int64
	}{
		{[]string{"--max-lifetime", "720h", "--login-lifetime", "168h"}, 7 * 86400, 30 * 86400},
		{[]string{"--max-lifetime", "24h"}, 86400, 86400},
		{nil, 90 * 86400, 366 * 86400},
	} {
		url, _, stop := startServe(t, append([]string{"--database", db}, c.args...)...)
		res, err := http.Get(url + "/v1/server")
		if err != nil {
			t.Fatal(err)
		}
		var info api.ServerInfo
		err = json.NewDecoder(res.Body).Decode(&info)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%q: GET /v1/server: %d %v", c.args, res.StatusCode, err)
		}
		if info.DefaultLoginLifetimeSeconds != c.login || info.MaxTokenLifetimeSeconds != c.max {
			t.Errorf("%q: login %d, max %d; want %d, %d", c.args, info.DefaultLoginLifetimeSeconds, info.MaxTokenLifetimeSeconds, c.login, c.max)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}
