package token

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/store"
)

// scopeServer speaks the issue-12 wire contract (scopes, GET /v1/scopes,
// insufficient_scope, filtered listing with bounded pages) over an
// in-memory token list, so the CLI's side can be tested before tokend
// has it. Each listing page examines one row, so a filter that misses
// answers empty pages with a cursor, as the real server may.
type scopeServer struct {
	mu      sync.Mutex
	current *api.Token // the credential; nil: a password
	scopes  []api.Scope
	tokens  []api.Token // newest first
	creates []map[string]json.RawMessage
	pages   int
	fail    *api.Problem // answered to every create when set
}

func (s *scopeServer) problem(w http.ResponseWriter, p api.Problem) {
	w.Header().Set("Content-Type", api.ProblemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// need answers 403 insufficient_scope unless the credential has scope.
func (s *scopeServer) need(w http.ResponseWriter, scope string) bool {
	if s.current == nil || slices.Contains(s.current.Scopes, scope) {
		return true
	}
	s.problem(w, api.Problem{Status: 403, Title: "Forbidden", Code: api.CodeInsufficientScope,
		Detail: "this token lacks " + scope, RequiredScopes: []string{scope}, TokenScopes: s.current.Scopes})
	return false
}

func (s *scopeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/user":
		u := api.User{ID: "u1", Username: "alice", AuthMethod: api.AuthPassword}
		if s.current != nil {
			u.AuthMethod, u.Token = api.AuthToken, s.current
		}
		reply(u)
	case r.Method == "GET" && r.URL.Path == "/v1/scopes":
		reply(api.ScopeList{Items: s.scopes})
	case r.Method == "POST" && r.URL.Path == "/v1/tokens":
		if !s.need(w, scope.TokensWrite) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(body, &raw)
		s.creates = append(s.creates, raw)
		if s.fail != nil {
			s.problem(w, *s.fail)
			return
		}
		var req api.CreateTokenRequest
		_ = json.Unmarshal(body, &req)
		sec, _ := secret.Generate(secret.DefaultPrefix)
		now := time.Now().UTC()
		t := api.Token{ID: store.NewID(now), Name: req.Name, KeyHint: sec.Hint(), CreatedAt: now, ExpiresAt: now.Add(time.Hour), Status: api.StatusActive, Scopes: req.Scopes}
		s.tokens = append([]api.Token{t}, s.tokens...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(api.CreatedToken{Token: t, Secret: sec.String()})
	case r.Method == "GET" && r.URL.Path == "/v1/tokens":
		if !s.need(w, scope.TokensRead) {
			return
		}
		s.pages++
		want := r.URL.Query()["scope"]
		i, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		page := api.TokenPage{Items: []api.Token{}}
		if i < len(s.tokens) {
			if hasScopes(s.tokens[i], want) {
				page.Items = append(page.Items, s.tokens[i])
			}
			if i+1 < len(s.tokens) {
				next := strconv.Itoa(i + 1)
				page.NextCursor = &next
			}
		}
		reply(page)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/tokens/"):
		if !s.need(w, scope.TokensRead) {
			return
		}
		for _, t := range s.tokens {
			if t.ID == strings.TrimPrefix(r.URL.Path, "/v1/tokens/") {
				reply(t)
				return
			}
		}
		s.problem(w, api.Problem{Status: 404, Code: api.CodeNotFound, Detail: "no such token"})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/v1/tokens/"):
		if !s.need(w, scope.TokensWrite) {
			return
		}
		w.WriteHeader(204)
	case r.Method == "POST" && r.URL.Path == "/v1/tokens/delete":
		if !s.need(w, scope.TokensWrite) {
			return
		}
		var req api.BulkDeleteRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		reply(api.BulkDeleteResult{Deleted: req.IDs, NotFound: []string{}})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/rotate"):
		s.problem(w, api.Problem{Status: 409, Code: api.CodeTokenExpired, Detail: "the token expired at 2026-11-01T10:30:00Z"})
	default:
		s.problem(w, api.Problem{Status: 404, Code: api.CodeNotFound, Detail: "no route"})
	}
}

// lastCreate is the JSON body of the latest create, by member.
func (s *scopeServer) lastCreate(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.creates) == 0 {
		t.Fatal("no create was sent")
	}
	return s.creates[len(s.creates)-1]
}

// newScopeEnv is a testEnv whose client talks to a scopeServer holding a
// credential with the given scopes that expires in life.
func newScopeEnv(t *testing.T, scopes []string, life time.Duration) (*testEnv, *scopeServer) {
	t.Helper()
	e := newTestEnv(t)
	cur := &api.Token{ID: store.NewID(e.clock.Now()), Name: "login", ExpiresAt: e.clock.Now().Add(life), Status: api.StatusActive, Scopes: scopes}
	s := &scopeServer{current: cur, tokens: []api.Token{*cur}, scopes: []api.Scope{
		{Name: "deploy:write", Description: "deploy to production"},
		{Name: "metrics:read", Description: "read metrics"},
		{Name: "tokens:read", Description: "list and show tokens", Builtin: true},
		{Name: "tokens:write", Description: "create, rotate and delete tokens", Builtin: true},
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e.f.Client = func() (*client.Client, error) { return client.New(client.Options{Host: srv.URL, Token: "test"}) }
	return e, s
}

var allScopes = []string{"deploy:write", "tokens:read", "tokens:write"}

func scopesOf(t *testing.T, body map[string]json.RawMessage) []string {
	t.Helper()
	raw, ok := body["scopes"]
	if !ok {
		return nil
	}
	var sc []string
	if err := json.Unmarshal(raw, &sc); err != nil || sc == nil {
		t.Fatalf("scopes member %s is not an array", raw)
	}
	return sc
}

func TestCreateSendsScopes(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	for _, tc := range []struct {
		name string
		args []string
		want []string // nil: no scopes member (the server's default)
	}{
		{"repeated and comma-separated, sorted and deduplicated", []string{"--scope", "tokens:read", "--scope", "deploy:write,tokens:read"}, []string{"deploy:write", "tokens:read"}},
		{"no --scope leaves the default to the server", nil, nil},
		{"--scope '' asks for no scopes", []string{"--scope", ""}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.mustRun(0, append([]string{"create", "x", "-q"}, tc.args...)...)
			got := scopesOf(t, s.lastCreate(t))
			if (got == nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
				t.Errorf("scopes sent %q, want %q", got, tc.want)
			}
		})
	}
	_, errOut, code := e.run("create", "x", "--scope", "deploy write")
	if code != 2 || !strings.Contains(errOut, "has no spaces") {
		t.Errorf("a scope with a space: exit %d, %q", code, errOut)
	}
}

func TestExecTokenHasNoTokensScopesByDefault(t *testing.T) {
	bin := testBinary(t)
	for _, tc := range []struct {
		name string
		cred []string // nil: a password credential
		args []string
		want []string
	}{
		{"token credential: its scopes minus tokens:*", allScopes, nil, []string{"deploy:write"}},
		{"only tokens:* left: no scopes at all", []string{"tokens:read", "tokens:write"}, nil, []string{}},
		{"password credential: every application scope", nil, nil, []string{"deploy:write", "metrics:read"}},
		{"--scope is sent as given", allScopes, []string{"--scope", "tokens:write,deploy:write"}, []string{"deploy:write", "tokens:write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, s := newScopeEnv(t, tc.cred, 24*time.Hour)
			if tc.cred == nil {
				s.current = nil
			}
			args := append(append([]string{"exec"}, tc.args...), "--", bin, "exec-child", "exit", "0", DefaultExecEnv)
			e.mustRun(0, args...)
			body := s.lastCreate(t)
			if got := scopesOf(t, body); got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("scopes sent %q, want %q", got, tc.want)
			}
			if string(body["expires_in_seconds"]) != "900" {
				t.Errorf("lifetime sent %s, want the default 900 seconds", body["expires_in_seconds"])
			}
		})
	}
}

func TestExecLifetimeStaysWithinTheCredential(t *testing.T) {
	bin := testBinary(t)
	e, s := newScopeEnv(t, allScopes, 5*time.Minute)
	run := []string{"--", bin, "exec-child", "exit", "0", DefaultExecEnv}

	// The default 15m is cut, silently, to the credential's expiry.
	e.mustRun(0, append([]string{"exec"}, run...)...)
	body := s.lastCreate(t)
	var at time.Time
	if err := json.Unmarshal(body["expires_at"], &at); err != nil || !at.Equal(s.current.ExpiresAt) {
		t.Errorf("expires_at sent %s, want the credential's %s", body["expires_at"], s.current.ExpiresAt)
	}
	if _, ok := body["expires_in_seconds"]; ok {
		t.Errorf("both expires_at and expires_in_seconds sent: %v", body)
	}

	// An explicit lifetime goes as asked: the server says no if it is
	// beyond the credential.
	s.fail = &api.Problem{Status: 403, Code: api.CodeExceedsParent, Detail: "the token expires at 2026-12-02T05:00:00Z; a child cannot outlive it"}
	_, errOut, code := e.run(append([]string{"exec", "--expires-in", "1h"}, run...)...)
	if string(s.lastCreate(t)["expires_in_seconds"]) != "3600" {
		t.Errorf("explicit lifetime not sent as given: %v", s.lastCreate(t))
	}
	if code != 4 || !strings.Contains(errOut, "a child cannot outlive it") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("exceeds_parent: exit %d, stderr %q; want exit 4 and one line with the server's detail", code, errOut)
	}

	// A credential about to expire cannot mint at all.
	s.fail = nil
	s.current.ExpiresAt = e.clock.Now().Add(30 * time.Second)
	_, errOut, code = e.run(append([]string{"exec"}, run...)...)
	if code != 1 || !strings.Contains(errOut, "too soon to mint") {
		t.Errorf("nearly expired credential: exit %d, %q", code, errOut)
	}
}

func TestInsufficientScopeSaysWhatToDo(t *testing.T) {
	e, _ := newScopeEnv(t, []string{"deploy:write"}, 24*time.Hour)
	const want = "this token lacks tokens:write (it was made with: deploy:write); log in with a broader one or ask for --scope tokens:write"
	for _, args := range [][]string{
		{"create", "x", "-q"},
		{"delete", "01jd8k2m4n5p6q7r8s9t0v1w2x", "--yes"},
	} {
		_, errOut, code := e.run(args...)
		if code != 4 || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 4 and %q", args, code, errOut, want)
		}
	}
	_, errOut, code := e.run("list")
	if code != 4 || !strings.Contains(errOut, "this token lacks tokens:read (it was made with: deploy:write)") {
		t.Errorf("list: exit %d, %q", code, errOut)
	}
}

func TestLimitAndExpiredAreOneLineExit1(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	s.fail = &api.Problem{Status: 409, Code: api.CodeTokenLimitReached, Detail: "you have 10000 live tokens, the most allowed"}
	_, errOut, code := e.run("create", "x")
	if code != 1 || !strings.Contains(errOut, "10000 live tokens") || !strings.Contains(errOut, "token delete --expired") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("token_limit_reached: exit %d, %q", code, errOut)
	}
	_, errOut, code = e.run("rotate", s.current.ID, "--yes")
	if code != 1 || !strings.Contains(errOut, "cannot be rotated") {
		t.Errorf("token_expired: exit %d, %q", code, errOut)
	}
}

func TestScopesAreShown(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	out, _ := e.mustRun(0, "show", s.current.ID)
	if !strings.Contains(out, "Scopes:      deploy:write tokens:read tokens:write\n") {
		t.Errorf("show:\n%s", out)
	}
	out, _ = e.mustRun(0, "list", "-o", "csv")
	if !strings.HasPrefix(out, "id,name,description,key_hint,created_at,expires_at,last_used_at,status,scopes,current\n") || !strings.Contains(out, ",active,deploy:write tokens:read tokens:write,true\n") {
		t.Errorf("csv:\n%s", out)
	}
	out, _ = e.mustRun(0, "list")
	if !strings.Contains(out, "SCOPES") || !strings.Contains(out, "deploy:write tokens:read tokens:write") {
		t.Errorf("table:\n%s", out)
	}
	s.tokens[0].Scopes = nil // an older server: still an array
	out, _ = e.mustRun(0, "list", "-o", "json")
	if !strings.Contains(out, `"scopes": []`) {
		t.Errorf("json:\n%s", out)
	}
}

// --scope filters on the server, over pages that can come back empty.
func TestListAndDeleteFilterByScope(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	now := e.clock.Now()
	for i, sc := range [][]string{{"deploy:write"}, {}, {}, {"metrics:read"}, {}, {"deploy:write", "metrics:read"}, {}} {
		s.tokens = append(s.tokens, api.Token{ID: store.NewID(now.Add(-time.Duration(i+1) * time.Minute)), Name: "t" + strconv.Itoa(i), CreatedAt: now, ExpiresAt: now.Add(time.Hour), Status: api.StatusActive, Scopes: sc})
	}
	s.pages = 0
	out, _ := e.mustRun(0, "list", "--scope", "deploy:write", "--jq", ".[].name")
	if out != "login\nt0\nt5\n" {
		t.Errorf("list --scope deploy:write: %q", out)
	}
	if s.pages != len(s.tokens) {
		t.Errorf("%d pages read, want %d (every page until next_cursor is null)", s.pages, len(s.tokens))
	}
	out, _ = e.mustRun(0, "list", "--scope", "deploy:write,metrics:read", "--jq", ".[].name")
	if out != "t5\n" {
		t.Errorf("list with two scopes: %q", out)
	}
	_, errOut := e.mustRun(0, "list", "--scope", "nothing:here")
	if !strings.Contains(errOut, "No tokens match the filters.") {
		t.Errorf("empty filtered list: %q", errOut)
	}

	out, _ = e.mustRun(0, "delete", "--scope", "metrics:read", "--dry-run")
	if !strings.Contains(out, "\tt3\n") || !strings.Contains(out, "\tt5\n") || strings.Count(out, "\n") != 2 {
		t.Errorf("delete --scope --dry-run:\n%s", out)
	}
	// A blank --scope is no filter, so it must not select everything.
	_, errOut, code := e.run("delete", "--scope", " ", "--dry-run")
	if code != 2 || !strings.Contains(errOut, "nothing selected") {
		t.Errorf("delete --scope ' ': exit %d, %q", code, errOut)
	}
}

func TestScopeCompletion(t *testing.T) {
	e, _ := newScopeEnv(t, allScopes, 24*time.Hour)
	complete := completeScopes(e.f)
	got, _ := complete(&cobra.Command{}, nil, "de")
	if !slices.Equal(got, []cobra.Completion{"deploy:write\tdeploy to production"}) {
		t.Errorf("complete de: %q", got)
	}
	got, _ = complete(&cobra.Command{}, nil, "tokens:read,tok")
	if !slices.Equal(got, []cobra.Completion{"tokens:read,tokens:write\tcreate, rotate and delete tokens"}) {
		t.Errorf("complete after a comma: %q", got)
	}
}

// Completion of ids reads every page, empty ones included.
func TestIDCompletionFollowsEmptyPages(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	got, _ := completeTokenIDs(e.f, true)(&cobra.Command{}, nil, "")
	if len(got) != len(s.tokens) {
		t.Errorf("%d completions, want %d", len(got), len(s.tokens))
	}
}

// An over-long --scope is quoted back cut between characters (it was cut
// at byte 64, inside an "é", and printed as \xc3).
func TestLongScopeIsQuotedWhole(t *testing.T) {
	e := newTestEnv(t)
	_, errOut, code := e.run("list", "--scope", "a"+strings.Repeat("é", 70))
	if code != 2 || !strings.Contains(errOut, "at most 64 characters") || strings.Contains(errOut, `\x`) || !strings.Contains(errOut, "é…") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
