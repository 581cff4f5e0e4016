package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/secret"
)

// leakServer speaks POST /v1/tokens/revoke as the wire contract has it:
// live secrets are deleted, the answer is counts and malformed indexes,
// plus per-secret results when perIndex is set.
type leakServer struct {
	mu        sync.Mutex
	live      map[string]bool
	perIndex  bool
	failAfter int // answer 429 once this many requests were served (0 = never)
	requests  int
	auth      []string // Authorization headers seen
	sources   []string
	sent      int // secrets received
}

func (s *leakServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/tokens/revoke" {
		http.NotFound(w, r)
		return
	}
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.requests++
	if s.failAfter > 0 && s.requests > s.failAfter {
		w.Header().Set("Content-Type", api.ProblemContentType)
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(api.Problem{Status: 429, Title: "Too Many Requests", Detail: "too many leak reports from this address", Code: api.CodeRateLimited})
		return
	}
	var req api.RevokeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Secrets) == 0 || len(req.Secrets) > api.MaxRevokeSecrets {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.sources = append(s.sources, req.Source)
	s.sent += len(req.Secrets)
	res := client.RevokeOutcome{RevokeResult: api.RevokeResult{Malformed: []api.RevokeMalformed{}}}
	for i, sec := range req.Secrets {
		out := client.RevokeNotLive
		switch _, err := secret.Parse(sec); {
		case err != nil:
			out = client.RevokeMalformed
			res.Malformed = append(res.Malformed, api.RevokeMalformed{Index: i, Reason: api.RevokeNotAToken})
		case s.live[sec]:
			delete(s.live, sec)
			out = client.RevokeRevoked
			res.Revoked++
		default:
			res.NotLive++
		}
		if s.perIndex {
			res.Results = append(res.Results, out)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// leakEnv is a testEnv that is NOT logged in and points revoke-leaked at
// a leakServer.
func leakEnv(t *testing.T, ls *leakServer) *testEnv {
	e := newTestEnv(t)
	srv := httptest.NewServer(ls)
	t.Cleanup(srv.Close)
	e.cred = nil
	e.f.ClientOptions = func() (client.Options, error) {
		return client.Options{Host: srv.URL}, nil
	}
	return e
}

func newSecret(t *testing.T) secret.Token {
	t.Helper()
	s, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logWith is about size bytes of log lines with the given texts buried in
// the middle.
func logWith(size int, texts ...string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size/2; i++ {
		fmt.Fprintf(&b, "2026-12-01T10:00:%02dZ INFO request id=%d path=/v1/things status=200 user_agent=curl/8.5 tkn_short\n", i%60, i)
	}
	for _, s := range texts {
		fmt.Fprintf(&b, "2026-12-01T10:01:00Z DEBUG Authorization: Bearer %s\n", s)
	}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "2026-12-01T10:02:%02dZ WARN slow query took=%dms\n", i%60, i)
	}
	return b.Bytes()
}

func TestRevokeLeakedFindsASecretInA1MBLogWithoutLogin(t *testing.T) {
	for _, perIndex := range []bool{true, false} {
		t.Run(fmt.Sprintf("perIndex=%v", perIndex), func(t *testing.T) {
			live, dead := newSecret(t), newSecret(t)
			ls := &leakServer{live: map[string]bool{live.String(): true}, perIndex: perIndex}
			e := leakEnv(t, ls)
			// A checksum-failing look-alike: the live secret with its last
			// character changed.
			l := live.String()
			last := "a"
			if strings.HasSuffix(l, "a") {
				last = "b"
			}
			mangled := l[:len(l)-1] + last
			// Its hint shows its own ends: the changed last character too.
			mangledHint := l[:8] + "…" + mangled[len(mangled)-4:]
			log := logWith(1<<20, live.String(), dead.String(), live.String(), mangled)
			file := filepath.Join(t.TempDir(), "app.log")
			if err := os.WriteFile(file, log, 0o600); err != nil {
				t.Fatal(err)
			}

			out, errOut := e.mustRun(0, "revoke-leaked", file, "--source", "https://ci.example.com/job/42")
			if ls.live[live.String()] {
				t.Fatal("the live secret was not revoked")
			}
			for _, a := range ls.auth {
				if a != "" {
					t.Fatal("revoke-leaked sent an Authorization header")
				}
			}
			if ls.sent != 2 || ls.requests != 1 || ls.sources[0] != "https://ci.example.com/job/42" {
				t.Errorf("server got %d secrets in %d requests, sources %q; want 2 in 1", ls.sent, ls.requests, ls.sources)
			}
			for _, s := range []string{live.String(), dead.String(), mangled, l[4:34]} {
				if strings.Contains(out+errOut, s) {
					t.Fatal("output holds a secret")
				}
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("want one line per distinct secret, got:\n%s", out)
			}
			wantLive, wantDead := "revoked", "not live"
			if !perIndex {
				wantLive, wantDead = "revoked or not live", "revoked or not live"
			}
			want := []string{live.Hint() + "\t" + wantLive, dead.Hint() + "\t" + wantDead, mangledHint + "\tmalformed (checksum mismatch)"}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
			if !strings.Contains(errOut, "Found 3 secrets: revoked 1, not live 1, malformed 1, not checked 0") {
				t.Errorf("stderr: %q", errOut)
			}

			// Again from stdin: now both are dead.
			e.in.Reset()
			e.in.Write(log)
			out, _ = e.mustRun(0, "revoke-leaked", "-")
			if !strings.Contains(out, live.Hint()+"\tnot live") {
				t.Errorf("second run: %s", out)
			}
		})
	}
}

func TestRevokeLeakedPartialFailureExits3(t *testing.T) {
	ls := &leakServer{live: map[string]bool{}, perIndex: true, failAfter: 1}
	e := leakEnv(t, ls)
	var text strings.Builder
	var first secret.Token
	for i := range 3 {
		s := newSecret(t)
		if i == 0 {
			first = s
			ls.live[s.String()] = true
		}
		fmt.Fprintf(&text, "token=%s\n", s)
	}
	e.in.WriteString(text.String())
	cmd := NewCmdRevokeLeaked(e.f, func(o *RevokeLeakedOptions) error {
		o.BatchSize = 1
		return revokeLeakedRun(t.Context(), o)
	})
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if code := cmdutil.ExitCode(err); code != cmdutil.ExitPartial {
		t.Fatalf("exit %d (%v), want 3", code, err)
	}
	out := e.out.String()
	if !strings.Contains(out, first.Hint()+"\trevoked") || strings.Count(out, "not checked (HTTP 429)") != 2 {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(e.errOut.String(), "not checked 2") {
		t.Errorf("stderr: %s", e.errOut.String())
	}
}

func TestRevokeLeakedInput(t *testing.T) {
	sec := newSecret(t)
	tests := []struct {
		name string
		args []string
		in   string
		code int
		err  string
	}{
		{"nothing found", nil, "no secrets here tkn_abc\n", 0, "No tkn_ secrets found in stdin"},
		{"other prefix ignored", []string{"--prefix", "acme_"}, sec.String() + "\n", 0, "No acme_ secrets found"},
		{"bad prefix", []string{"--prefix", "acme"}, "", 2, "--prefix"},
		{"secret in --source", []string{"--source", "found " + sec.String()}, "", 2, "--source holds a token secret"},
		{"long --source", []string{"--source", strings.Repeat("x", 501)}, "", 2, "at most 500"},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.log")}, "", 2, "cannot read"},
		{"two files", []string{"a", "b"}, "", 2, "too many arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := &leakServer{live: map[string]bool{}}
			e := leakEnv(t, ls)
			e.in.WriteString(tt.in)
			out, errOut, code := e.run(append([]string{"revoke-leaked"}, tt.args...)...)
			if code != tt.code || out != "" || !strings.Contains(errOut, tt.err) || strings.Contains(errOut, sec.String()) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.code, tt.err)
			}
			if ls.requests != 0 {
				t.Errorf("%d requests sent", ls.requests)
			}
		})
	}
}

func TestRevokeLeakedNeedsAHostNotALogin(t *testing.T) {
	e := leakEnv(t, &leakServer{})
	e.f.ClientOptions = func() (client.Options, error) {
		return client.Options{}, &cmdutil.AuthError{Err: fmt.Errorf("not logged in")}
	}
	e.in.WriteString(newSecret(t).String())
	_, errOut, code := e.run("revoke-leaked")
	if code != 2 || !strings.Contains(errOut, "pass --host URL") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
}

// scanSecrets finds a secret wherever it falls against the read chunks,
// with no line-length limit.
func TestScanSecretsAcrossChunks(t *testing.T) {
	sec := newSecret(t).String()
	for _, off := range []int{0, 1, 256<<10 - 60, 256<<10 - 39, 256<<10 - 20, 256<<10 - 1, 256 << 10, 512<<10 - 30} {
		text := append(bytes.Repeat([]byte("x"), off), sec...)
		text = append(text, bytes.Repeat([]byte("-"), 300<<10)...)
		for _, r := range []io.Reader{bytes.NewReader(text), iotest.HalfReader(bytes.NewReader(text))} {
			var got []string
			if err := scanSecrets(r, secret.DefaultPrefix, func(s string) { got = append(got, s) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != sec {
				t.Fatalf("offset %d: found %d candidates, want the secret once", off, len(got))
			}
		}
	}
}

// On a terminal, stdin waits for a paste: say so instead of hanging
// silently.
func TestRevokeLeakedPromptsForAPasteOnATerminal(t *testing.T) {
	e := leakEnv(t, &leakServer{})
	e.ios.SetStdinTTY(true)
	e.in.WriteString("nothing here\n")
	_, errOut := e.mustRun(0, "revoke-leaked")
	if !strings.HasPrefix(errOut, "Paste the text to search, then press Ctrl-D") {
		t.Fatalf("stderr %q", errOut)
	}
	e.ios.SetStdinTTY(false)
	if _, errOut = e.mustRun(0, "revoke-leaked"); strings.Contains(errOut, "Paste") {
		t.Fatalf("prompt off a terminal: %q", errOut)
	}
}

// Against a server without the endpoint (a tokend from before issue 13
// answers 405), the report fails with exit 3 and says why.
func TestRevokeLeakedOldServer(t *testing.T) {
	e := newTestEnv(t)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, `{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"POST is not allowed on /v1/tokens/revoke","code":"method_not_allowed"}`)
	}))
	t.Cleanup(old.Close)
	e.f.ClientOptions = func() (client.Options, error) { return client.Options{Host: old.URL}, nil }
	sec := e.create("leaky", time.Hour)
	e.in.WriteString("log: " + sec.Secret + "\n")
	out, errOut, code := e.run("revoke-leaked")
	if code != cmdutil.ExitPartial || out != sec.KeyHint+"\tnot checked (HTTP 405)\n" || !strings.Contains(errOut, "1 secret could not be checked") || !strings.Contains(errOut, "takes no leak reports yet") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, sec.Secret) {
		t.Fatal("secret printed")
	}
}

// A long input is read in chunks: scanning 32 MiB (one line, no newline)
// allocates a small fraction of it.
func TestScanSecretsStreams(t *testing.T) {
	sec := newSecret(t).String()
	const size = 32 << 20
	r := io.MultiReader(io.LimitReader(repeatByte('x'), size), strings.NewReader(sec))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var got []string
	if err := scanSecrets(r, secret.DefaultPrefix, func(s string) { got = append(got, s) }); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(got) != 1 || got[0] != sec {
		t.Fatalf("found %d candidates", len(got))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("scanning %d MiB allocated %d KiB", size>>20, alloc>>10)
	}
}

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
