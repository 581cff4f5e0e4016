package token

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/server"
	"go.yaml.in/yaml/v3"
)

var secretRE = regexp.MustCompile(`tkn_[0-9A-Za-z]{36}`)

func TestCreateQuietPrintsOnlyAWorkingSecret(t *testing.T) {
	e := newTestEnv(t)
	out, errOut := e.mustRun(0, "create", "ci-job", "--expires-in", "1h", "-q")
	s := strings.TrimSuffix(out, "\n")
	if out != s+"\n" || strings.Contains(s, "\n") {
		t.Fatalf("stdout is not one line: %q", out)
	}
	if _, err := secret.Parse(s); err != nil {
		t.Fatalf("stdout is not a token: %v", err)
	}
	if !e.works(s) {
		t.Fatal("the printed secret does not authenticate")
	}
	if errOut != "" {
		t.Fatalf("stderr not empty: %q", errOut)
	}
}

func TestCreateJSONCarriesTheWholeRecord(t *testing.T) {
	e := newTestEnv(t)
	out, _ := e.mustRun(0, "create", "deploy", "-d", "prod deploys", "--expires-in", "1d12h", "-o", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"token", "id", "key_hint", "created_at", "expires_at", "name", "description", "status"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing from %s", k, out)
		}
	}
	created, _ := time.Parse(time.RFC3339, got["created_at"].(string))
	expires, _ := time.Parse(time.RFC3339, got["expires_at"].(string))
	if d := expires.Sub(created); d != 36*time.Hour {
		t.Errorf("lifetime = %v, want 36h", d)
	}
	if !e.works(got["token"].(string)) {
		t.Error("the secret in the JSON does not authenticate")
	}
}

func TestCreateYAML(t *testing.T) {
	e := newTestEnv(t)
	out, _ := e.mustRun(0, "create", "deploy", "-o", "yaml")
	var got map[string]any
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	if got["name"] != "deploy" || !e.works(got["token"].(string)) {
		t.Fatalf("unexpected record: %v", got)
	}
}

func TestCreateEnvFormats(t *testing.T) {
	tests := []struct {
		name string
		args []string
		re   string
	}{
		{"env is shell-quoted with the default name", []string{"-o", "env"}, `^TOKEN='(tkn_\w+)'\n$`},
		{"dotenv is bare", []string{"-o", "dotenv"}, `^TOKEN=(tkn_\w+)\n$`},
		{"env-name renames the variable", []string{"-o", "env", "--env-name", "API_TOKEN"}, `^API_TOKEN='(tkn_\w+)'\n$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			out, _ := e.mustRun(0, append([]string{"create", "ci", "--expires-in", "10m"}, tt.args...)...)
			m := regexp.MustCompile(tt.re).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("stdout %q does not match %s", out, tt.re)
			}
			if !e.works(m[1]) {
				t.Fatal("the secret does not authenticate")
			}
		})
	}
}

func TestCreateDefaultBlock(t *testing.T) {
	e := newTestEnv(t)
	out, errOut := e.mustRun(0, "create", "laptop", "--expires-at", e.clock.Now().Add(72*time.Hour).Format(time.RFC3339))
	tok := e.token("laptop")
	for _, want := range []string{`Created token "laptop"`, "shown only once", "ID:       " + tok.ID, "Key:      " + tok.KeyHint, "Expires:  ", "(in 3d)"} {
		if !strings.Contains(out, want) {
			t.Errorf("block lacks %q:\n%s", want, out)
		}
	}
	if s := secretRE.FindString(out); s == "" || !e.works(s) {
		t.Errorf("block carries no working secret:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("colour escapes off a terminal")
	}
	if !strings.Contains(errOut, "-q") {
		t.Errorf("no hint for scripts on stderr: %q", errOut)
	}
}

func TestCreateMasksTheSecretForGitHubActionsFirst(t *testing.T) {
	e := newTestEnv(t)
	e.environ["GITHUB_ACTIONS"] = "true"
	// One buffer for both streams shows the order a runner sees.
	e.ios.ErrOut = e.ios.Out
	out, _ := e.mustRun(0, "create", "ci", "-q")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "::add-mask::"+lines[1] || !secretRE.MatchString(lines[1]) {
		t.Fatalf("want the mask line then the secret, got %q", out)
	}
}

func TestCreateWithoutMaskOutsideGitHubActions(t *testing.T) {
	e := newTestEnv(t)
	_, errOut := e.mustRun(0, "create", "ci", "-q")
	if strings.Contains(errOut, "add-mask") {
		t.Fatalf("mask outside GitHub Actions: %q", errOut)
	}
}

func TestCreateCopyWithoutClipboardSaysSo(t *testing.T) {
	e := newTestEnv(t)
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("PATH", t.TempDir()) // no xclip, xsel or wl-copy
	out, errOut := e.mustRun(0, "create", "ci", "-q", "--copy")
	if !secretRE.MatchString(out) {
		t.Fatalf("secret not printed: %q", out)
	}
	if !strings.Contains(errOut, "clipboard") || strings.Contains(errOut, "Copied") {
		t.Fatalf("stderr does not say the clipboard is missing: %q", errOut)
	}
	if secretRE.MatchString(errOut) {
		t.Fatal("secret leaked into the clipboard error")
	}
}

func TestCreatePromptsOnATerminal(t *testing.T) {
	e := newTestEnv(t)
	e.ios.SetStdinTTY(true)
	e.ios.SetStderrTTY(true)
	e.in.WriteString("\nnightly build\nfor the nightly job\n7d\n")
	out, errOut := e.mustRun(0, "create", "-q")
	if !secretRE.MatchString(out) {
		t.Fatalf("no secret: %q", out)
	}
	for _, q := range []string{"Token name:", "Description", "Lifetime", "must not be empty"} {
		if !strings.Contains(errOut, q) {
			t.Errorf("stderr lacks %q: %q", q, errOut)
		}
	}
	tok := e.token("nightly build")
	if tok.Name != "nightly build" || tok.Description != "for the nightly job" || tok.ExpiresAt.Sub(tok.CreatedAt) != 7*24*time.Hour {
		t.Fatalf("created %+v", tok)
	}
}

func TestCreateRejectsBadInputBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown unit", []string{"ci", "--expires-in", "10x"}, `unknown unit "x"`},
		{"negative duration", []string{"ci", "--expires-in", "-5d"}, "must be positive"},
		{"zero duration", []string{"ci", "--expires-in", "0m"}, "more than zero"},
		{"seconds are not a unit", []string{"ci", "--expires-in", "0s"}, "unknown unit"},
		{"malformed date", []string{"ci", "--expires-at", "2026-13-45"}, "invalid date"},
		{"date with words", []string{"ci", "--expires-at", "next week"}, "invalid date"},
		{"empty name", []string{""}, "must not be empty"},
		{"blank name", []string{"   "}, "must not be empty"},
		{"long name", []string{strings.Repeat("n", 101)}, "too long"},
		{"both expiry flags", []string{"ci", "--expires-in", "1d", "--expires-at", "2030-01-01"}, "cannot be used together"},
		{"quiet with json", []string{"ci", "-q", "-o", "json"}, "cannot be combined"},
		{"unknown output", []string{"ci", "-o", "xml"}, "unknown output format"},
		{"bad env name", []string{"ci", "-o", "env", "--env-name", "1X"}, "invalid --env-name"},
		{"unknown flag", []string{"ci", "--frobnicate"}, "unknown flag"},
		{"no name off a terminal", nil, "name is required"},
		{"two names", []string{"a", "b"}, "too many arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			before := len(e.tokens())
			out, errOut, code := e.run(append([]string{"create"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, errOut)
			}
			if out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Fatalf("stdout %q, stderr %q; want one line with %q", out, errOut, tt.want)
			}
			if n := len(e.tokens()); n != before {
				t.Fatalf("%d tokens created", n-before)
			}
		})
	}
}

func TestCreateServerRejectionIsOneLineExit2(t *testing.T) {
	e := newTestEnv(t)
	before := len(e.tokens())
	out, errOut, code := e.run("create", "forever", "--expires-in", "99999d")
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "HTTP 400") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if len(e.tokens()) != before {
		t.Fatal("a token was created")
	}
}

func TestCreateAliases(t *testing.T) {
	for _, alias := range []string{"new", "generate"} {
		e := newTestEnv(t)
		out, _ := e.mustRun(0, alias, "x", "-q")
		if !secretRE.MatchString(out) {
			t.Errorf("%s: no secret", alias)
		}
	}
}

// The server refuses a lifetime in terms of its JSON fields
// (expires_in_seconds, expires_at); the error names the flag instead.
func TestCreateLifetimeRefusalNamesTheFlag(t *testing.T) {
	e := newTestEnvWith(t, server.Config{MaxLifetime: 24 * time.Hour})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--expires-in", "400d"}, "invalid --expires-in 400d: "},
		{[]string{"--expires-at", "2099-01-01"}, "invalid --expires-at 2099-01-01: "},
	} {
		out, errOut, code := e.run(append([]string{"create", "x"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "maximum lifetime") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 with %q", tt.args, code, out, errOut, tt.want)
		}
	}
}
