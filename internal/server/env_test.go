package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/clock"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/store/sqlite"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countingStore is the real SQLite store, counting digest lookups so a test
// can prove a malformed token never reached it.
type countingStore struct {
	*sqlite.Store
	digestLookups atomic.Int64
	listQueries   atomic.Int64
}

func (c *countingStore) ScanTokens(ctx context.Context, opts store.ListOptions) ([]store.Token, string, error) {
	c.listQueries.Add(1)
	return c.Store.ScanTokens(ctx, opts)
}

func (c *countingStore) TokenByDigest(ctx context.Context, d [32]byte) (store.Token, store.User, error) {
	c.digestLookups.Add(1)
	return c.Store.TokenByDigest(ctx, d)
}

// testEnv is a tokend handler over a real SQLite file in a temp dir.
type testEnv struct {
	t      testing.TB
	h      http.Handler
	st     *countingStore
	dbPath string
	clock  *clock.Settable
	logs   *lockedBuffer
	cfg    Config
	// validate checks every response against docs/openapi.yaml.
	validate bool
}

func newTestEnv(t testing.TB, mutate ...func(*Config)) *testEnv {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "tokend.db")
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewSettable(time.Now().UTC().Truncate(time.Second))
	logs := &lockedBuffer{}
	cfg := Config{Now: clk.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	cs := &countingStore{Store: st}
	var logOut io.Writer = logs
	if _, bench := t.(*testing.B); bench {
		// Benchmarks still format every log line, but do not keep them.
		logOut = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &testEnv{t: t, h: New(cfg, cs, logger), st: cs, dbPath: dbPath, clock: clk, logs: logs, cfg: cfg, validate: true}
}

// hashCache keeps tests fast: argon2id is slow on purpose.
var hashCache sync.Map

func (e *testEnv) addUser(name, pw string) store.User {
	e.t.Helper()
	h, ok := hashCache.Load(pw)
	if !ok {
		hash, err := password.Hash(pw)
		if err != nil {
			e.t.Fatal(err)
		}
		h, _ = hashCache.LoadOrStore(pw, hash)
	}
	u := store.User{ID: store.NewID(time.Now()), Username: name, PasswordHash: h.(string), CreatedAt: time.Now().UTC()}
	if err := e.st.CreateUser(context.Background(), u); err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

type req struct {
	method, path string
	body         string // sent as is
	json         any    // marshalled when body is empty
	contentType  string // default application/json when there is a body
	auth         string // whole Authorization header value
	header       map[string]string
	remote       string // RemoteAddr; default 192.0.2.1:1234
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d response: %v\nbody: %s", r.status, err, r.body)
	}
}

func (r resp) problem(t testing.TB) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != api.ProblemContentType {
		t.Fatalf("status %d content-type %q, want %s; body %s", r.status, ct, api.ProblemContentType, r.body)
	}
	var p api.Problem
	r.decode(t, &p)
	if p.Status != r.status || p.Code == "" || p.Detail == "" || p.Title == "" ||
		p.Type != ProblemTypeBase+p.Code || p.RequestID == "" || p.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("incomplete problem for status %d: %+v", r.status, p)
	}
	return p
}

func bearer(secret string) string { return "Bearer " + secret }

func basic(user, pw string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header.Get("Authorization")
}

func (e *testEnv) do(rq req) resp {
	e.t.Helper()
	body := rq.body
	if body == "" && rq.json != nil {
		b, err := json.Marshal(rq.json)
		if err != nil {
			e.t.Fatal(err)
		}
		body = string(b)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(rq.method, rq.path, rd)
	if body != "" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			r.Header.Set("Content-Type", ct)
		}
	}
	if rq.auth != "" {
		r.Header.Set("Authorization", rq.auth)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	r.RemoteAddr = "192.0.2.1:1234"
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	res := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if res.status == http.StatusInternalServerError {
		e.t.Errorf("%s %s answered %d: %s", rq.method, rq.path, res.status, res.body)
	}
	if res.header.Get("X-Request-Id") == "" {
		e.t.Errorf("%s %s: no X-Request-Id in response", rq.method, rq.path)
	}
	if e.validate {
		checkAgainstSpec(e.t, r, rec.Result())
	}
	return res
}

// create makes a token with auth and returns it, failing the test on error.
func (e *testEnv) create(auth string, body any) api.CreatedToken {
	e.t.Helper()
	res := e.do(req{method: "POST", path: "/v1/tokens", json: body, auth: auth})
	if res.status != http.StatusCreated {
		e.t.Fatalf("create: status %d: %s", res.status, res.body)
	}
	var ct api.CreatedToken
	res.decode(e.t, &ct)
	return ct
}

// login gives a user a token to authenticate with, so tests do not pay for
// argon2id on every request.
func (e *testEnv) login(user, pw string) string {
	e.t.Helper()
	return e.create(basic(user, pw), map[string]any{"name": "login"}).Secret
}

var (
	specOnce      sync.Once
	specValidator validator.Validator
	specErr       error
)

func specPath() string { return filepath.Join("..", "..", "docs", "openapi.yaml") }

func loadSpec(t testing.TB) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		b, err := os.ReadFile(specPath())
		if err != nil {
			specErr = err
			return
		}
		doc, err := libopenapi.NewDocument(b)
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = errs[0]
			return
		}
		specValidator = v
	})
	if specErr != nil {
		t.Fatalf("load %s: %v", specPath(), specErr)
	}
	return specValidator
}

// checkAgainstSpec validates a response (status, content type, body, and
// headers) against docs/openapi.yaml, for requests that name a documented
// route.
func checkAgainstSpec(t testing.TB, r *http.Request, res *http.Response) {
	t.Helper()
	if res.StatusCode == http.StatusNotFound && strings.HasSuffix(res.Header.Get("Content-Type"), "json") {
		var p api.Problem
		_ = json.NewDecoder(bytes.NewReader(mustBody(res))).Decode(&p)
		if strings.HasPrefix(p.Detail, "no such endpoint") {
			return // not a documented route
		}
	}
	if res.StatusCode == http.StatusMethodNotAllowed || r.Method == http.MethodHead {
		return
	}
	v := loadSpec(t)
	ok, errs := v.ValidateHttpResponse(r, res)
	if ok {
		return
	}
	for _, err := range errs {
		msg := err.Message + ": " + err.Reason
		for _, sv := range err.SchemaValidationErrors {
			msg += "\n    " + sv.Reason + " at " + sv.FieldPath
		}
		t.Errorf("%s %s -> %d does not match docs/openapi.yaml: %s", r.Method, r.URL.Path, res.StatusCode, msg)
	}
}

func mustBody(res *http.Response) []byte {
	b, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(b))
	return b
}
