package tokend

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// newSSODB is newDB with a provider added, so the device grant answers.
func newSSODB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := newDB(t, filepath.Join(dir, "sso.db"))
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("the-client-secret-4f2a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := run(t, "", nil, "sso", "add", "corp", "--issuer", corpIssuer, "--client-id", "tokend",
		"--client-secret-file", secretFile, "--database", db); err != nil {
		t.Fatalf("sso add = %q, %v", errOut, err)
	}
	return db
}

func postJSON(t *testing.T, url string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res, []byte(out.String())
}

// --device-poll-interval is what the device start answers as interval,
// and an early poll's slow_down grows it from there.
func TestServeDevicePollInterval(t *testing.T) {
	base, _, stop := startServe(t, "--database", newSSODB(t), "--device-poll-interval", "3s")
	defer stop()
	res, body := postJSON(t, base+"/v1/auth/device", api.DeviceStartRequest{ClientHost: "laptop"})
	var da api.DeviceAuthorization
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &da) != nil || da.Interval != 3 {
		t.Fatalf("device start = %d %s, want interval 3", res.StatusCode, body)
	}
	poll := func() api.Problem {
		res, body := postJSON(t, base+"/v1/auth/device/token", api.DeviceTokenRequest{GrantType: api.GrantTypeDeviceCode, DeviceCode: da.DeviceCode})
		var p api.Problem
		if res.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &p) != nil {
			t.Fatalf("poll = %d %s", res.StatusCode, body)
		}
		return p
	}
	if p := poll(); p.Code != api.CodeAuthorizationPending {
		t.Fatalf("first poll = %+v", p)
	}
	if p := poll(); p.Code != api.CodeSlowDown || p.Interval != 8 {
		t.Fatalf("early poll = %+v, want slow_down with interval 3+5", p)
	}
}

// --device-starts-per-minute and --max-pending-device-codes reach the
// server: low values refuse the next start, where the defaults (30 and
// 10,000) would have answered it.
func TestServeDeviceStartLimits(t *testing.T) {
	start := func(base string) (int, api.Problem) {
		t.Helper()
		res, body := postJSON(t, base+"/v1/auth/device", api.DeviceStartRequest{ClientHost: "laptop"})
		var p api.Problem
		if res.StatusCode != http.StatusOK {
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("device start = %d %s", res.StatusCode, body)
			}
		}
		return res.StatusCode, p
	}
	t.Run("starts per minute", func(t *testing.T) {
		base, _, stop := startServe(t, "--database", newSSODB(t), "--device-starts-per-minute", "2")
		defer stop()
		for i := range 2 {
			if status, p := start(base); status != http.StatusOK {
				t.Fatalf("start %d = %d %+v", i+1, status, p)
			}
		}
		if status, p := start(base); status != http.StatusTooManyRequests || p.Code != api.CodeRateLimited {
			t.Fatalf("third start = %d %+v, want 429 %s", status, p, api.CodeRateLimited)
		}
	})
	t.Run("pending codes", func(t *testing.T) {
		base, _, stop := startServe(t, "--database", newSSODB(t), "--max-pending-device-codes", "1")
		defer stop()
		if status, p := start(base); status != http.StatusOK {
			t.Fatalf("first start = %d %+v", status, p)
		}
		if status, p := start(base); status != http.StatusServiceUnavailable || p.Code != api.CodeUnavailable {
			t.Fatalf("second start = %d %+v, want 503 %s", status, p, api.CodeUnavailable)
		}
	})
}

// The browser pages carry a request id and get one access log line each,
// like the API, and the line holds no user code, state or authorization
// code (the query string is never logged).
func TestPagesHaveRequestIDsAndAccessLog(t *testing.T) {
	base, logs, stop := startServe(t, "--database", newSSODB(t))
	defer stop()
	res, body := postJSON(t, base+"/v1/auth/device", api.DeviceStartRequest{ClientHost: "laptop"})
	var da api.DeviceAuthorization
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &da) != nil {
		t.Fatalf("device start = %d %s", res.StatusCode, body)
	}
	get := func(url, id string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", url, nil)
		if id != "" {
			r.Header.Set("X-Request-Id", id)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	const state, code = "st4te-9f2c1d7e5a", "c0de-4b8e2f6a1d"
	for _, c := range []struct{ url, id, route string }{
		{da.VerificationURIComplete + "&state=" + state, "trace-device-1", "GET /login/device"},
		{base + "/login/callback?state=" + state + "&code=" + code, "trace-callback-1", "GET /login/callback"},
		{base + "/login/device?user_code=" + da.UserCode, "", "GET /login/device"},
	} {
		res := get(c.url, c.id)
		got := res.Header.Get("X-Request-Id")
		if got == "" || (c.id != "" && got != c.id) {
			t.Fatalf("%s: X-Request-Id %q, want %q", c.route, got, c.id)
		}
		var lines []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "msg=request ") && strings.Contains(l, "request_id="+got) {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || !strings.Contains(lines[0], `route="`+c.route+`"`) || !strings.Contains(lines[0], "status=") {
			t.Fatalf("%s: access log lines %q, want one with the route\n%s", c.route, lines, logs.String())
		}
	}
	out := logs.String()
	// The callback's own warning carries its request's id, to tie it to
	// the access line.
	warned := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `msg="sso callback with an unknown, used or expired state"`) {
			warned = true
			if !strings.Contains(l, " request_id=trace-callback-1") {
				t.Errorf("the callback's warning has not its request id:\n%s", l)
			}
		}
	}
	if !warned {
		t.Errorf("no warning of the unknown state:\n%s", out)
	}
	plain := strings.ReplaceAll(da.UserCode, "-", "")
	for _, secret := range []string{da.UserCode, plain, state, code, da.DeviceCode} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, out)
		}
	}
}
