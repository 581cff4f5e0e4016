package tokend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/server"
)

// nginxConf is the configuration docs/proxy.md shows, with the paths and
// ports of a test: one internal location per scope asks tokend's
// auth/check, and the protected location passes the token's user on. Two
// locations are the test's own: /svc, a service that reads Authorization
// itself, and /v1/, tokend's API behind the same proxy.
const nginxConf = `{{user}}
daemon off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;

    server {
        listen {{listen}};

        location = /_tokend/deploy-write {
            internal;
            proxy_pass {{tokend}}/v1/auth/check?scope=deploy:write;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization $http_authorization;
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        # A service that reads Authorization itself: it gets the header
        # tokend checked, and only when tokend saw exactly one.
        location /svc {
            auth_request /_tokend/deploy-write;
            proxy_pass {{upstream}};
        }

        # tokend's own API through the proxy, for password sign-ins.
        location /v1/ {
            proxy_pass {{tokend}};
            proxy_set_header X-Forwarded-For $remote_addr;
        }

        location / {
            auth_request /_tokend/deploy-write;
            auth_request_set $token_user $upstream_http_x_token_user;
            auth_request_set $token_id $upstream_http_x_token_id;
            proxy_set_header X-Token-User $token_user;
            proxy_set_header X-Token-Id $token_id;
            proxy_set_header Authorization "";
            proxy_pass {{upstream}};
        }
    }
}
`

// TestNginxAuthRequest runs Debian's real nginx in front of a tiny
// upstream, with tokend as its auth_request: exactly the tokens with
// deploy:write get through, and a deleted one is refused on the very next
// request.
func TestNginxAuthRequest(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tokend.db")
	if _, _, err := run(t, "pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--database", db); err != nil {
		t.Fatal(err)
	}
	tokendURL := serveInProcess(t, db, "--trust-proxy")

	var mu sync.Mutex
	var seen []http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		fmt.Fprintln(w, "deployed")
	}))
	t.Cleanup(upstream.Close)

	listen, _ := startNginxConf(t, dir, tokendURL, upstream.URL)

	// Tokens: one with deploy:write, one without.
	login := nginxBasic("alice", "pw")
	deployer := mustCreate(t, tokendURL, login, `{"name":"deployer","scopes":["deploy:write"]}`)
	reader := mustCreate(t, tokendURL, login, `{"name":"reader","scopes":["tokens:read"]}`)

	get := func(auth string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+listen+"/deploy?env=prod", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("X-Token-User", "mallory") // a client cannot name itself
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}

	status, body, _ := get("Bearer " + deployer.Secret)
	if status != 200 || body != "deployed\n" {
		t.Fatalf("deploy:write token through nginx: %d %q", status, body)
	}
	mu.Lock()
	h := seen[len(seen)-1]
	mu.Unlock()
	if h.Get("X-Token-User") != "alice" || h.Get("X-Token-Id") != deployer.ID || h.Get("Authorization") != "" {
		t.Fatalf("upstream saw X-Token-User %q, X-Token-Id %q, Authorization %q", h.Get("X-Token-User"), h.Get("X-Token-Id"), h.Get("Authorization"))
	}
	if status, _, _ := get("Bearer " + reader.Secret); status != 403 {
		t.Fatalf("token without deploy:write through nginx: %d, want 403", status)
	}
	// The challenge is Bearer only: a Basic one would make a browser ask
	// for a password that can never work.
	if status, _, hdr := get(""); status != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="tokend"` {
		t.Fatalf("no token through nginx: %d (WWW-Authenticate %q), want 401 with a Bearer challenge", status, hdr.Get("WWW-Authenticate"))
	}
	if status, _, hdr := get(nginxBasic("alice", "pw")); status != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="tokend"` {
		t.Fatalf("a password through nginx: %d (WWW-Authenticate %q), want 401 with a Bearer challenge", status, hdr.Get("WWW-Authenticate"))
	}

	// Deleted: refused on the very next request.
	req, _ := http.NewRequest("DELETE", tokendURL+"/v1/tokens/"+deployer.ID, nil)
	req.Header.Set("Authorization", login)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if status, _, _ := get("Bearer " + deployer.Secret); status != 401 {
		t.Fatalf("deleted token through nginx: %d, want 401", status)
	}
	mu.Lock()
	n := len(seen)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("upstream was reached %d times, want once", n)
	}
}

// TestNginxLimitsAndOneAuthorization runs issue 20's cases through the
// real nginx, with tokend behind it taking the client address from
// X-Forwarded-For: clients bind 127.0.0.N, so nginx sees N addresses.
//   - Bad tokens from one address get 401, then 429 (nginx's auth_request
//     turns any status but 2xx, 401 and 403 into 500), while a valid token
//     from that address still passes.
//   - Wrong passwords lock out that account from that address only.
//   - Two Authorization headers, in either order, never reach the service.
//
// Client addresses: 127.0.0.2-3 tokens, 4-5 passwords, 6 headers.
func TestNginxLimitsAndOneAuthorization(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tokend.db")
	for _, u := range []string{"alice", "bob"} {
		if _, _, err := run(t, u+"-pw\n", nil, "user", "add", u, "--database", db); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:write", "--database", db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "", nil, "scope", "add", "deploy:read", "--database", db); err != nil {
		t.Fatal(err)
	}
	tokendURL := serveInProcess(t, db, "--trust-proxy")
	var mu sync.Mutex
	var seen [][]string // the Authorization headers the service got
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Values("Authorization"))
		mu.Unlock()
		fmt.Fprintln(w, "deployed")
	}))
	t.Cleanup(upstream.Close)
	listen, errorLog := startNginxConf(t, dir, tokendURL, upstream.URL)

	login := nginxBasic("alice", "alice-pw")
	writer := "Bearer " + mustCreate(t, tokendURL, login, `{"name":"w","scopes":["deploy:write"]}`).Secret
	reader := "Bearer " + mustCreate(t, tokendURL, login, `{"name":"r","scopes":["deploy:read"]}`).Secret
	do := func(from byte, path string, auth ...string) (int, http.Header) {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}}
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest("GET", "http://"+listen+path, nil)
		req.Header["Authorization"] = auth
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, res.Header
	}

	t.Run("bad tokens are limited only on the failing path", func(t *testing.T) {
		for i := range server.DefaultAuthFailures {
			if got, _ := do(2, "/deploy", "Bearer tkn_stale"); got != 401 {
				t.Fatalf("bad token %d through nginx: %d, want 401", i+1, got)
			}
		}
		if got, _ := do(2, "/deploy", "Bearer tkn_stale"); got != 500 {
			t.Fatalf("bad token past the budget through nginx: %d, want 500 (tokend's 429)", got)
		}
		// nginx's log quotes no secret here, but print only the verdict.
		if b, _ := os.ReadFile(errorLog); !strings.Contains(string(b), "auth request unexpected status: 429") {
			t.Fatal("nginx's error log does not show tokend's 429")
		}
		if got, _ := do(2, "/deploy", writer); got != 200 {
			t.Fatalf("a valid token from the same address through nginx: %d, want 200", got)
		}
		if got, _ := do(2, "/v1/user", writer); got != 200 {
			t.Fatalf("a valid token on the API from the same address: %d, want 200", got)
		}
		if got, _ := do(3, "/deploy", "Bearer tkn_stale"); got != 401 {
			t.Fatalf("a bad token from another address: %d, want 401", got)
		}
	})

	t.Run("wrong passwords lock out one account at one address", func(t *testing.T) {
		for i := range server.DefaultPasswordFailures {
			if got, _ := do(4, "/v1/user", nginxBasic("alice", "typo")); got != 401 {
				t.Fatalf("typo %d through nginx: %d, want 401", i+1, got)
			}
		}
		if got, h := do(4, "/v1/user", nginxBasic("alice", "alice-pw")); got != 429 || h.Get("Retry-After") == "" {
			t.Fatalf("alice's right password past her budget: %d (Retry-After %q), want 429", got, h.Get("Retry-After"))
		}
		if got, _ := do(4, "/v1/user", nginxBasic("bob", "bob-pw")); got != 200 {
			t.Fatalf("bob at the same address: %d, want 200", got)
		}
		if got, _ := do(5, "/v1/user", nginxBasic("alice", "alice-pw")); got != 200 {
			t.Fatalf("alice from another address: %d, want 200", got)
		}
	})

	// nginx itself refuses a second Authorization header (400, "client
	// sent duplicate header line"), so tokend's own 400 is for proxies
	// that forward both, like Caddy (see TestAuthCheckRefusesTwoAuthorizationHeaders
	// in internal/server); here the point is that neither order gets
	// through.
	t.Run("two Authorization headers never reach the service", func(t *testing.T) {
		mu.Lock()
		before := len(seen)
		mu.Unlock()
		for _, path := range []string{"/svc", "/deploy"} {
			for _, order := range [][]string{{reader, writer}, {writer, reader}} {
				if got, _ := do(6, path, order...); got != 400 {
					t.Errorf("%s with two Authorization headers through nginx: %d, want 400", path, got)
				}
			}
		}
		// The service still works with one header, and gets that one.
		if got, _ := do(6, "/svc", writer); got != 200 {
			t.Fatalf("/svc with the deploy:write token: %d, want 200", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != before+1 || len(seen[before]) != 1 || seen[before][0] != writer {
			t.Errorf("the service was reached %d times after the two-header requests, or not with the checked token; want once, with it", len(seen)-before)
		}
	})
}

// startNginxConf runs nginx with nginxConf in dir until the test ends and
// returns the address it listens on and the path of its error log.
func startNginxConf(t *testing.T, dir, tokendURL, upstreamURL string) (string, string) {
	t.Helper()
	nginx := findNginx(t)
	listen := freeAddr(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers must reach the temp dir
	}
	conf := strings.NewReplacer("{{user}}", user, "{{dir}}", dir, "{{listen}}", listen,
		"{{tokend}}", tokendURL, "{{upstream}}", upstreamURL).Replace(nginxConf)
	return listen, runNginx(t, nginx, dir, listen, conf)
}

// serveInProcess runs "tokend serve" on a free loopback port until the
// test ends and returns its URL.
func serveInProcess(t *testing.T, db string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrFile := filepath.Join(t.TempDir(), "url")
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--database", db}, extra...)
	go func() {
		done <- Run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("tokend did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-done:
			t.Fatalf("tokend serve exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("tokend did not start listening")
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func waitListening(t *testing.T, addr string, exited <-chan error, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("nginx exited: %v\n%s", err, logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("nginx did not listen on %s\n%s", addr, logs())
}

func nginxBasic(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

func mustCreate(t *testing.T, base, auth, body string) api.CreatedToken {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/tokens", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ct api.CreatedToken
	if res.StatusCode != 201 || json.NewDecoder(res.Body).Decode(&ct) != nil {
		t.Fatalf("create %s: %d", body, res.StatusCode)
	}
	return ct
}
