package tokend

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxyDocBlock returns the fenced block of docs/proxy.md that follows
// the comment naming test, so the test runs the documentation itself.
func proxyDocBlock(t *testing.T, test string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- " + regexp.QuoteMeta(test) + " [^>]*-->\n```[a-z]*\n(.*?)\n```")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/proxy.md has no block marked for %s", test)
	}
	return string(m[1])
}

// findNginx returns Debian's nginx, failing under CI=true when it is
// missing and skipping otherwise.
func findNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx not found (CI must install the nginx package)")
	}
	t.Skip("nginx not found")
	return ""
}

// nginxHTTP wraps a conf.d-style snippet (upstream, map, server blocks)
// in a main configuration that keeps every path in the test's dir.
const nginxHTTP = `{{user}}
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
{{site}}
}
`

// startNginx runs nginx with site (a snippet of the http block) until the
// test ends.
func startNginx(t *testing.T, nginx, dir, listen, site string) {
	t.Helper()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers must reach the temp dir
	}
	conf := strings.NewReplacer("{{user}}", user, "{{dir}}", dir, "{{site}}", site).Replace(nginxHTTP)
	runNginx(t, nginx, dir, listen, conf)
}

// runNginx writes conf into dir, runs nginx with it until the test ends and
// waits until it listens on listen; it returns the path of the error log.
func runNginx(t *testing.T, nginx, dir, listen, conf string) string {
	t.Helper()
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	cmd := exec.Command(nginx, "-p", dir, "-e", errorLog, "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	waitListening(t, listen, exited, func() string {
		b, _ := os.ReadFile(errorLog)
		return out.String() + string(b)
	})
	return errorLog
}

// scopeSetup starts tokend with alice and the scopes deploy:read,
// deploy:write and deploy:admin, and a service that records who reached
// it. It returns tokend's URL and the service.
func scopeSetup(t *testing.T) (string, *recorder) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "tokend.db")
	if _, _, err := run(t, "pw\n", nil, "user", "add", "alice", "--database", db); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"deploy:read", "deploy:write", "deploy:admin"} {
		if _, _, err := run(t, "", nil, "scope", "add", sc, "--database", db); err != nil {
			t.Fatal(err)
		}
	}
	tokendURL := serveInProcess(t, db, "--trust-proxy")
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reached = append(rec.reached, r.Method+" "+r.URL.Path+" as "+r.Header.Get("X-Token-User")+" auth="+r.Header.Get("Authorization"))
		rec.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(rec.srv.Close)
	return tokendURL, rec
}

// recorder is the protected service: it notes every request it gets.
type recorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reached []string
}

// fillDoc swaps the documented addresses for the test's; each must be in
// the block, so the test fails when the documentation drifts instead of
// quietly testing something else.
func fillDoc(t *testing.T, block string, swaps map[string]string) string {
	t.Helper()
	for doc, test := range swaps {
		if !strings.Contains(block, doc) {
			t.Fatalf("docs/proxy.md's block no longer holds %q", doc)
		}
		block = strings.ReplaceAll(block, doc, test)
	}
	return block
}

// checkScopePerMethodAndPath sends the same requests through any proxy
// configured as docs/proxy.md's per-method and per-path examples:
// deploy:read for GET and HEAD, deploy:write for the other methods,
// deploy:admin for /admin/ whatever the method.
func checkScopePerMethodAndPath(t *testing.T, tokendURL, proxyURL string, rec *recorder) {
	t.Helper()
	login := nginxBasic("alice", "pw")
	reader := mustCreate(t, tokendURL, login, `{"name":"reader","scopes":["deploy:read"]}`)
	writer := mustCreate(t, tokendURL, login, `{"name":"writer","scopes":["deploy:write"]}`)
	admin := mustCreate(t, tokendURL, login, `{"name":"admin","scopes":["deploy:admin"]}`)
	names := map[string]string{reader.Secret: "deploy:read", writer.Secret: "deploy:write", admin.Secret: "deploy:admin", "": "no token"}

	cases := []struct {
		method, path string
		tok          string
		want         int
	}{
		{"GET", "/releases", reader.Secret, 200},
		{"HEAD", "/releases", reader.Secret, 200},
		{"POST", "/releases", reader.Secret, 403},
		{"DELETE", "/releases/7", reader.Secret, 403},
		{"POST", "/releases", writer.Secret, 200},
		{"DELETE", "/releases/7", writer.Secret, 200},
		{"GET", "/releases", writer.Secret, 403},
		{"GET", "/admin/users", reader.Secret, 403},
		{"POST", "/admin/users", writer.Secret, 403},
		{"GET", "/admin/users", admin.Secret, 200},
		{"POST", "/admin/users", admin.Secret, 200},
		{"GET", "/releases", admin.Secret, 403},
		{"GET", "/releases", "", 401},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, proxyURL+c.path, nil)
		if c.tok != "" {
			req.Header.Set("Authorization", "Bearer "+c.tok)
		}
		req.Header.Set("X-Token-User", "mallory") // a client cannot name itself
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s %s with %s: %d, want %d", c.method, c.path, names[c.tok], res.StatusCode, c.want)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{
		"GET /releases as alice auth=", "HEAD /releases as alice auth=",
		"POST /releases as alice auth=", "DELETE /releases/7 as alice auth=",
		"GET /admin/users as alice auth=", "POST /admin/users as alice auth=",
	}
	if strings.Join(rec.reached, "\n") != strings.Join(want, "\n") {
		t.Errorf("the service saw:\n%s\nwant:\n%s", strings.Join(rec.reached, "\n"), strings.Join(want, "\n"))
	}
}

// TestNginxScopePerMethodAndPath runs docs/proxy.md's per-method and
// per-path nginx example, as written there apart from addresses, in front
// of a tiny service (issue 20 item 15): the proxy, not tokend, picks the
// scope a method or path needs.
func TestNginxScopePerMethodAndPath(t *testing.T) {
	nginx := findNginx(t)
	site := proxyDocBlock(t, "TestNginxScopePerMethodAndPath")
	tokendURL, rec := scopeSetup(t)
	tu, _ := url.Parse(tokendURL)
	listen := freeAddr(t)
	site = fillDoc(t, site, map[string]string{
		"server 127.0.0.1:8080;":            "server " + tu.Host + ";",
		"listen 443 ssl;":                   "listen " + listen + ";",
		"proxy_pass http://127.0.0.1:9000;": "proxy_pass " + rec.srv.URL + ";",
	})
	startNginx(t, nginx, t.TempDir(), listen, site)
	checkScopePerMethodAndPath(t, tokendURL, "http://"+listen, rec)
}

// TestCaddyScopePerMethodAndPath is the same for docs/proxy.md's Caddy
// example with forward_auth matchers, on Debian's caddy.
func TestCaddyScopePerMethodAndPath(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("caddy not found (CI must install the caddy package)")
		}
		t.Skip("caddy not found")
	}
	site := proxyDocBlock(t, "TestCaddyScopePerMethodAndPath")
	tokendURL, rec := scopeSetup(t)
	tu, _ := url.Parse(tokendURL)
	su, _ := url.Parse(rec.srv.URL)
	listen := freeAddr(t)
	site = fillDoc(t, site, map[string]string{
		"deploy.example.com {":         "http://" + listen + " {",
		"127.0.0.1:8080":               tu.Host,
		"reverse_proxy 127.0.0.1:9000": "reverse_proxy " + su.Host,
	})
	dir := t.TempDir()
	// No admin endpoint (a fixed port other tests may hold), no HTTPS.
	conf := "{\n\tadmin off\n\tauto_https off\n\tstorage file_system " + filepath.Join(dir, "data") + "\n}\n" + site + "\n"
	confPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	waitListening(t, listen, exited, out.String)
	checkScopePerMethodAndPath(t, tokendURL, "http://"+listen, rec)
}
