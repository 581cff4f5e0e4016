package token

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/output"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

// seed gives alice: the login token, two active ci tokens, one deploy
// token expiring in 2 days and one expired token.
func seed(e *testEnv) {
	e.create("ci-one", 30*24*time.Hour)
	e.create("ci-two", 30*24*time.Hour)
	e.create("deploy", 2*24*time.Hour)
	e.create("old", time.Hour)
	e.clock.Advance(2 * time.Hour) // "old" is now expired
}

func TestListJSONIsAFlatArrayWithoutSecrets(t *testing.T) {
	e := newTestEnv(t)
	seed(e)
	out, _ := e.mustRun(0, "list", "-o", "json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(got) != 5 {
		t.Fatalf("%d items, want 5", len(got))
	}
	for _, item := range got {
		for _, k := range []string{"id", "name", "description", "key_hint", "created_at", "expires_at", "last_used_at", "status"} {
			if _, ok := item[k]; !ok {
				t.Errorf("item lacks %q: %v", k, item)
			}
		}
		if _, ok := item["token"]; ok {
			t.Errorf("item carries a secret: %v", item)
		}
		for _, k := range []string{"created_at", "expires_at"} {
			s, _ := item[k].(string)
			if ts, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") || ts.Location() != time.UTC {
				t.Errorf("%s = %q, want RFC 3339 UTC", k, s)
			}
		}
	}
	if secretRE.MatchString(out) {
		t.Fatal("a secret appears in the listing")
	}
}

func TestListTableOffATerminal(t *testing.T) {
	e := newTestEnv(t)
	seed(e)
	out, errOut := e.mustRun(0, "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want header + 5:\n%s", len(lines), out)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ID NAME KEY CREATED EXPIRES LAST USED SCOPES" {
		t.Errorf("header = %q", lines[0])
	}
	old := e.token("old")
	var oldLine string
	for _, l := range lines {
		if strings.Contains(l, old.ID) {
			oldLine = l
		}
	}
	for _, want := range []string{old.KeyHint, "expired 1h ago", "never", old.CreatedAt.Format(time.DateOnly)} {
		if !strings.Contains(oldLine, want) {
			t.Errorf("row %q lacks %q", oldLine, want)
		}
	}
	// deploy: 2d minus the 2h the clock moved, to the nearest day.
	if !strings.Contains(out, "(in 2d)") {
		t.Errorf("no relative expiry for deploy:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("colour escapes off a terminal")
	}
	if errOut != "" {
		t.Errorf("stderr: %q", errOut)
	}
}

func TestListTableColoursExpiredRowsOnATerminal(t *testing.T) {
	tests := []struct {
		name   string
		color  bool
		wantCo bool
	}{
		{"terminal with colour marks expired rows red", true, true},
		{"terminal with NO_COLOR has no escapes", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			seed(e)
			e.ios.SetStdoutTTY(true)
			e.ios.SetColorEnabled(tt.color)
			out, _ := e.mustRun(0, "list")
			old := e.token("old").ID
			for _, l := range strings.Split(out, "\n") {
				red := strings.Contains(l, "\x1b[31m")
				if strings.Contains(l, old) && red != tt.wantCo {
					t.Errorf("expired row red=%v: %q", red, l)
				}
				if strings.Contains(l, "ci-one") && red {
					t.Errorf("active row is red: %q", l)
				}
			}
			if !tt.wantCo && strings.Contains(out, "\x1b") {
				t.Error("escape sequences without colour")
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"all by default", nil, []string{"tokenctl@test", "ci-one", "ci-two", "deploy", "old"}},
		{"active only", []string{"--status", "active"}, []string{"tokenctl@test", "ci-one", "ci-two", "deploy"}},
		{"expired only", []string{"--status", "expired"}, []string{"old"}},
		{"name glob", []string{"--name", "ci-*"}, []string{"ci-one", "ci-two"}},
		{"name glob with ?", []string{"--name", "ci-t?o"}, []string{"ci-two"}},
		{"expiring within keeps active tokens expiring soon", []string{"--expiring-within", "7d"}, []string{"deploy"}},
		{"expiring within combines with name", []string{"--expiring-within", "100d", "--name", "ci-*"}, []string{"ci-one", "ci-two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			seed(e)
			out, _ := e.mustRun(0, append([]string{"list", "--jq", ".[].name"}, tt.args...)...)
			got := strings.Fields(out)
			if strings.Join(sorted(got), ",") != strings.Join(sorted(tt.want), ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestListFormats(t *testing.T) {
	e := newTestEnv(t)
	seed(e)

	out, _ := e.mustRun(0, "list", "-o", "yaml", "--name", "ci-one")
	var y []map[string]any
	if err := yaml.Unmarshal([]byte(out), &y); err != nil || len(y) != 1 || y[0]["name"] != "ci-one" {
		t.Errorf("yaml: %v %v\n%s", err, y, out)
	}

	out, _ = e.mustRun(0, "list", "-o", "csv", "--status", "expired")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") || recs[1][1] != "old" || recs[1][7] != "expired" {
		t.Errorf("csv: %v %v\n%s", err, recs, out)
	}

	out, _ = e.mustRun(0, "list", "--name", "deploy", "--template", `{{range .}}{{.name}}={{.status}}{{"\n"}}{{end}}`)
	if out != "deploy=active\n" {
		t.Errorf("template: %q", out)
	}

	out, _ = e.mustRun(0, "list", "--jq", "map(select(.status == \"expired\")) | length")
	if out != "1\n" {
		t.Errorf("jq: %q", out)
	}
}

func TestListEmpty(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
	}{
		{"table prints nothing", nil, ""},
		{"json prints []", []string{"-o", "json"}, "[]\n"},
		{"yaml prints []", []string{"-o", "yaml"}, "[]\n"},
		{"csv prints nothing", []string{"-o", "csv"}, ""},
		{"jq sees an empty array", []string{"--jq", "length"}, "0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			out, errOut := e.mustRun(0, append([]string{"list", "--name", "nothing-*"}, tt.args...)...)
			if out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, "No tokens") {
				t.Errorf("stderr %q does not say so", errOut)
			}
		})
	}
}

func TestListStreamsAcrossPages(t *testing.T) {
	e := newTestEnv(t)
	for i := 0; i < 23; i++ {
		e.mintDirect("bulk", time.Hour)
	}
	for _, format := range []string{"json", "csv", "table"} {
		t.Run(format, func(t *testing.T) {
			e.out.Reset()
			// Five a page: the 24 tokens take five requests.
			cmd := NewCmdList(e.f, func(o *ListOptions) error {
				o.PageSize = 5
				return listRun(t.Context(), o)
			})
			cmd.SetArgs([]string{"-o", format})
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(e.out.String(), "bulk"); n != 23 {
				t.Fatalf("%d tokens listed, want 23", n)
			}
		})
	}
}

func TestListRejectsBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--status", "dead"}, "invalid --status"},
		{[]string{"--expiring-within", "soon"}, "--expiring-within"},
		{[]string{"--expiring-within", "7d", "--status", "expired"}, "cannot be combined"},
		{[]string{"--name", "ci-["}, "invalid --name pattern"},
		{[]string{"-o", "xml"}, "unknown output format"},
		{[]string{"--jq", ".["}, "invalid --jq"},
		{[]string{"--template", "{{"}, "invalid --template"},
		{[]string{"-o", "csv", "--jq", "."}, "cannot be combined"},
		{[]string{"extra"}, "too many arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			e := newTestEnv(t)
			out, errOut, code := e.run(append([]string{"list"}, tt.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, tt.want)
			}
		})
	}
}

func TestListAliases(t *testing.T) {
	e := newTestEnv(t)
	out, _ := e.mustRun(0, "ls", "-o", "json")
	if !strings.Contains(out, "tokenctl@test") {
		t.Fatalf("ls: %q", out)
	}
}

// TestListJSONSchemaGolden pins the documented JSON shape of a token in
// `token list -o json` (docs/json-schema.md): field names, order, time
// format, the null for a token never used and "current" on every token.
func TestListJSONSchemaGolden(t *testing.T) {
	created := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	used := time.Date(2026, 11, 20, 17, 45, 12, 0, time.FixedZone("CET", 3600))
	toks := []api.Token{
		{ID: "01jd8k2m4n5p6q7r8s9t0v1w2x", Name: "deploy", Description: "prod deploys", KeyHint: "tkn_a1B2…x9Z0",
			CreatedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour), LastUsedAt: &used, Status: api.StatusActive,
			Scopes: []string{"deploy:write", "tokens:read"}},
		{ID: "01jd8k2m4n5p6q7r8s9t0v1w2y", Name: "old", KeyHint: "tkn_c3D4…y8W7",
			CreatedAt: created, ExpiresAt: created.Add(time.Hour), Status: api.StatusExpired},
	}
	var b strings.Builder
	arr := output.NewJSONArray(&b)
	for i, tok := range toks {
		if err := arr.Add(listItem{Token: utc(tok), Current: i == 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := arr.Close(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "list.json.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if b.String() != string(want) {
		t.Fatalf("JSON schema changed; update docs/json-schema.md and run with -update if intended.\ngot:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestListTableFitsTheTerminal(t *testing.T) {
	e := newTestEnv(t)
	long := strings.Repeat("n", 90)
	e.create(long, time.Hour)
	e.create("deploy", 48*time.Hour)

	// Piped: every column, names whole, however long the lines get.
	out, _ := e.mustRun(0, "list")
	if !strings.Contains(out, long) || !strings.Contains(out, "CREATED") || !strings.Contains(out, "LAST USED") {
		t.Fatalf("piped output is not complete:\n%s", out)
	}

	e.ios.SetStdoutTTY(true)
	for _, tc := range []struct {
		width     int
		header    string
		wholeLong bool
	}{
		// Wide enough for every column and the whole name.
		{260, "ID NAME KEY CREATED EXPIRES LAST USED SCOPES", true},
		// SCOPES is the first column to go once names are cut.
		{150, "ID NAME KEY CREATED EXPIRES LAST USED", false},
		// One long name is cut to 40 columns before any column goes, so
		// the other rows keep their KEY and LAST USED.
		{120, "ID NAME KEY EXPIRES LAST USED", false},
		// Only ID, a cut NAME and the relative expiry fit.
		{60, "ID NAME EXPIRES", false},
	} {
		e.ios.SetTerminalWidth(tc.width)
		out, _ := e.mustRun(0, "list")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if got := strings.Join(strings.Fields(lines[0]), " "); got != tc.header {
			t.Errorf("width %d: header %q, want %q", tc.width, got, tc.header)
		}
		for _, l := range lines {
			if w := utf8.RuneCountInString(l); w > tc.width {
				t.Errorf("width %d: line of %d columns: %q", tc.width, w, l)
			}
		}
		if strings.Contains(out, long) != tc.wholeLong {
			t.Errorf("width %d: long name whole = %v, want %v:\n%s", tc.width, !tc.wholeLong, tc.wholeLong, out)
		}
		if !tc.wholeLong && !strings.Contains(out, "nnnnnnnnn…") {
			t.Errorf("width %d: long name not cut with …:\n%s", tc.width, out)
		}
		if !strings.Contains(out, "deploy") || !strings.Contains(out, "in 2d") {
			t.Errorf("width %d: short name or relative expiry missing:\n%s", tc.width, out)
		}
	}
}
