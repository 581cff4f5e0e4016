package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/store"
)

// eventServer speaks GET /v1/events as the wire contract has it: newest
// first, keyset paging by id, filters token_id, type (repeatable), since,
// until; it needs the bearer token "good".
type eventServer struct {
	mu     sync.Mutex
	events []api.Event // newest first
	pages  int
	maxLen int // most items in one page
}

func (s *eventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != "/v1/events" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer good" {
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(api.Problem{Status: 401, Detail: "no credential", Code: api.CodeUnauthorized})
		return
	}
	q := r.URL.Query()
	limit := api.DefaultPageSize
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	var since, until time.Time
	if v := q.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	if v := q.Get("until"); v != "" {
		until, _ = time.Parse(time.RFC3339, v)
	}
	page := api.EventPage{Items: []api.Event{}}
	for _, ev := range s.events {
		switch {
		case q.Get("cursor") != "" && ev.ID >= q.Get("cursor"):
		case q.Get("token_id") != "" && (ev.Token == nil || ev.Token.ID != q.Get("token_id")):
		case q.Has("type") && !slices.Contains(q["type"], ev.Type):
		case !since.IsZero() && ev.Time.Before(since):
		case !until.IsZero() && !ev.Time.Before(until):
		default:
			if len(page.Items) == limit {
				next := page.Items[limit-1].ID
				page.NextCursor = &next
				break
			}
			page.Items = append(page.Items, ev)
			continue
		}
		if page.NextCursor != nil {
			break
		}
	}
	s.pages++
	s.maxLen = max(s.maxLen, len(page.Items))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

type env struct {
	t      *testing.T
	srv    *eventServer
	f      *cmdutil.Factory
	ios    *iostreams.IOStreams
	out    *bytes.Buffer
	errOut *bytes.Buffer
	now    time.Time
	ids    map[string]string // token name -> id
}

// newEnv serves a trail: "deploy" created 10 days ago, used to rotate
// itself 5 days ago, reported as leaked 2 days ago; a failed password 1
// day ago; "old" created and deleted 40 days ago.
func newEnv(t *testing.T) *env {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := &env{t: t, srv: &eventServer{}, now: now, ids: map[string]string{}}
	at := func(d time.Duration) time.Time { return now.Add(-d) }
	day := 24 * time.Hour
	tok := func(name string, created time.Time) *api.EventToken {
		if e.ids[name] == "" {
			e.ids[name] = store.NewID(created)
		}
		return &api.EventToken{ID: e.ids[name], Name: name, KeyHint: "tkn_" + name[:2] + "AB…WXYZ"}
	}
	web := api.EventClient{Address: "203.0.113.7", UserAgent: "tokenctl/1.0"}
	trail := []api.Event{
		{Time: at(40 * day), Type: api.EventTokenCreated, Token: tok("old", at(40*day)), Actor: api.EventActor{Kind: api.ActorPassword}, Client: web},
		{Time: at(40*day - time.Hour), Type: api.EventTokenDeleted, Token: tok("old", at(40*day)), Actor: api.EventActor{Kind: api.ActorOperator}, Client: web},
		{Time: at(10 * day), Type: api.EventTokenCreated, Token: tok("deploy", at(10*day)), Actor: api.EventActor{Kind: api.ActorPassword}, Client: web},
		{Time: at(5 * day), Type: api.EventTokenRotated, Token: tok("deploy", at(10*day)), Actor: api.EventActor{Kind: api.ActorToken, TokenID: e.ids["deploy"], TokenName: "deploy"}, Client: web},
		{Time: at(2 * day), Type: api.EventTokenRevokedLeaked, Token: tok("deploy", at(10*day)), Actor: api.EventActor{Kind: api.ActorLeakReport}, Client: api.EventClient{Address: "198.51.100.9", UserAgent: "scanner"}, Source: "https://paste.example/x"},
		{Time: at(1 * day), Type: api.EventAuthFailed, Actor: api.EventActor{Kind: api.ActorPassword}, Client: api.EventClient{Address: "192.0.2.1", UserAgent: "curl"}, Reason: "wrong password"},
	}
	for i := range trail {
		trail[i].ID = store.NewID(trail[i].Time)
	}
	slices.Reverse(trail)
	e.srv.events = trail
	hs := httptest.NewServer(e.srv)
	t.Cleanup(hs.Close)
	e.ios, _, e.out, e.errOut = iostreams.Test()
	e.f = &cmdutil.Factory{
		IOStreams: e.ios,
		Now:       func() time.Time { return now },
		Client: func() (*client.Client, error) {
			return client.New(client.Options{Host: hs.URL, Token: "good"})
		},
	}
	return e
}

func (e *env) run(args ...string) (string, string, int) {
	e.t.Helper()
	e.out.Reset()
	e.errOut.Reset()
	cmd := NewCmdAudit(e.f, func(o *Options) error {
		o.PageSize = 2 // page through even this short trail
		return run(context.Background(), o)
	})
	root := &cobra.Command{Use: "tokenctl", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	root.AddCommand(cmd)
	root.SetArgs(append([]string{"audit"}, args...))
	root.SetOut(e.out)
	root.SetErr(e.errOut)
	msg, code := cmdutil.Explain(root.Execute(), e.f) // as root.Run says it
	if msg != "" {
		fmt.Fprintf(e.errOut, "error: %s\n", msg)
	}
	return e.out.String(), e.errOut.String(), code
}

func (e *env) jsonTypes(args ...string) []string {
	e.t.Helper()
	out, errOut, code := e.run(append([]string{"-o", "json"}, args...)...)
	if code != 0 {
		e.t.Fatalf("exit %d: %s", code, errOut)
	}
	var evs []api.Event
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		e.t.Fatalf("decode %q: %v", out, err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	return types
}

func TestAuditJSONPagesAndFilters(t *testing.T) {
	e := newEnv(t)
	all := e.jsonTypes()
	want := []string{"auth.failed", "token.revoked_leaked", "token.rotated", "token.created", "token.deleted", "token.created"}
	if !slices.Equal(all, want) {
		t.Fatalf("all events: %v, want %v", all, want)
	}
	if e.srv.pages != 3 || e.srv.maxLen != 2 {
		t.Errorf("%d pages of at most %d; want 3 of 2", e.srv.pages, e.srv.maxLen)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--since", "7d"}, []string{"auth.failed", "token.revoked_leaked", "token.rotated"}},
		{[]string{"--since", "2026-11-20", "--until", "3d"}, []string{"token.rotated", "token.created"}},
		{[]string{"--type", "auth.failed", "--type", "token.revoked_leaked"}, []string{"auth.failed", "token.revoked_leaked"}},
		{[]string{"--token", "deploy"}, []string{"token.revoked_leaked", "token.rotated", "token.created"}},
		// A name finds a deleted token's events: the list no longer has it.
		{[]string{"--token", "old"}, []string{"token.deleted", "token.created"}},
		{[]string{"--token", strings.ToUpper(e.ids["deploy"]), "--type", "token.created"}, []string{"token.created"}},
	} {
		if got := e.jsonTypes(tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.args, got, tc.want)
		}
	}
	out, errOut, _ := e.run("-o", "json", "--token", "nosuch")
	if out != "[]\n" || !strings.Contains(errOut, "No events match the filters.") {
		t.Errorf("no match: %q %q", out, errOut)
	}
}

func TestAuditTableAndCSV(t *testing.T) {
	e := newEnv(t)
	out, _, code := e.run()
	if code != 0 {
		t.Fatal(code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != "WHEN WHAT TOKEN BY FROM" || len(lines) != 7 {
		t.Fatalf("table:\n%s", out)
	}
	for _, want := range []string{
		"auth.failed (wrong password)", "leak report: https://paste.example/x", "198.51.100.9",
		"token deploy", "operator", "2026-11-29 12:00 UTC (2d ago)", "deploy tkn_deAB…WXYZ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// On a narrow terminal every line fits; WHEN keeps its relative part.
	e.ios.SetStdoutTTY(true)
	e.ios.SetTerminalWidth(80)
	out, _, _ = e.run()
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if !strings.Contains(out, "2d ago") || strings.Contains(out, "2026-11-29") {
		t.Errorf("narrow table:\n%s", out)
	}
	e.ios.SetStdoutTTY(false)

	out, _, _ = e.run("-o", "csv", "--type", "token.revoked_leaked")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 2 || rows[0] != strings.Join(CSVHeader, ",") ||
		!strings.Contains(rows[1], ",token.revoked_leaked,"+e.ids["deploy"]+",deploy,") || !strings.HasSuffix(rows[1], ",198.51.100.9,scanner,https://paste.example/x,,,,,,") {
		t.Errorf("csv:\n%s", out)
	}

	out, _, _ = e.run("--jq", `.[] | select(.actor.kind == "leak_report") | .source`)
	if out != "https://paste.example/x\n" {
		t.Errorf("jq: %q", out)
	}
}

func TestAuditBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "lately"}, "--since: invalid date"},
		{[]string{"--until", "-3d"}, "--until: invalid date"},
		{[]string{"--since", "1d", "--until", "2d"}, "--since must be before --until"},
		{[]string{"--type", "token.made"}, `invalid --type "token.made": use token.created,`},
		{[]string{"-o", "xml"}, "unknown output format"},
		{[]string{"extra"}, "tokenctl audit"},
	} {
		e := newEnv(t)
		out, errOut, code := e.run(tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) || e.srv.pages != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, %d requests; want exit 2, %q", tc.args, code, out, errOut, e.srv.pages, tc.want)
		}
	}
}

func TestAuditOldServer(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(api.Problem{Status: 404, Detail: "no such endpoint: /v1/events", Code: api.CodeNotFound})
	}))
	defer hs.Close()
	e.f.Client = func() (*client.Client, error) { return client.New(client.Options{Host: hs.URL, Token: "good"}) }
	out, errOut, code := e.run("-o", "json")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no audit trail yet") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// An exchange names the trust policy and the CI identity, in the table and
// in CSV.
func TestExchangedEventShowsPolicyAndSubject(t *testing.T) {
	ev := api.Event{ID: "01", Type: api.EventTokenExchanged, Token: &api.EventToken{ID: "01", Name: "gha:acme/app@refs/heads/main#run-1", KeyHint: "tkn_ab…yz"},
		Actor: api.EventActor{Kind: api.ActorOIDC, TrustPolicy: "gha-main", Claims: map[string]string{"sub": "repo:acme/app:ref:refs/heads/main", "iss": "https://token.actions.githubusercontent.com"}}}
	if got := actor(ev); got != "oidc gha-main (repo:acme/app:ref:refs/heads/main)" {
		t.Errorf("actor = %q", got)
	}
	rec := csvRecord(ev)
	if len(rec) != len(CSVHeader) || rec[13] != "gha-main" || rec[14] != "repo:acme/app:ref:refs/heads/main" {
		t.Errorf("csv record %q", rec)
	}
}

// An admin's change and an SSO sign-in keep their actor and detail in CSV
// too (in the last columns, after those of earlier releases).
func TestAdminAndSSOEventsInCSV(t *testing.T) {
	for _, c := range []struct {
		ev   api.Event
		want []string // actor_user, detail, actor_provider
	}{
		{api.Event{ID: "01", Type: api.EventUserRoleChanged, Detail: "role admin", Actor: api.EventActor{Kind: "token", User: "root"}}, []string{"root", "role admin", ""}},
		{api.Event{ID: "02", Type: api.EventSSOLogin, Actor: api.EventActor{Kind: "sso", Provider: "corp"}}, []string{"", "", "corp"}},
	} {
		rec := csvRecord(c.ev)
		if len(rec) != len(CSVHeader) || !slices.Equal(rec[len(rec)-3:], c.want) {
			t.Errorf("%s: csv record %q, want it to end with %q", c.ev.Type, rec, c.want)
		}
	}
	if got := CSVHeader[len(CSVHeader)-3:]; !slices.Equal(got, []string{"actor_user", "detail", "actor_provider"}) {
		t.Errorf("last columns %q", got)
	}
}

// audit pages as token list does, by client.PageSize (held within the
// server's cap by the client's tests); it used to read api.MaxPageSize, a
// second constant the server does not enforce.
func TestAuditAsksForTheCLIsPageSize(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	got := -1
	cmd := NewCmdAudit(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o.PageSize; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got != client.PageSize {
		t.Errorf("audit asks for pages of %d, token list of %d", got, client.PageSize)
	}
}
