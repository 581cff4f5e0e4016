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
	plain := strings.ReplaceAll(da.UserCode, "-", "")
	for _, secret := range []string{da.UserCode, plain, state, code, da.DeviceCode} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, out)
		}
	}
}
