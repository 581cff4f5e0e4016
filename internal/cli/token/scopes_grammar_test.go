package token

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/scope"
)

// --scope is checked against package scope's grammar, the server's own,
// so a name tokend would refuse costs no request: exit 2, one line.
func TestScopeFlagUsesTheServersGrammar(t *testing.T) {
	e, s := newScopeEnv(t, allScopes, 24*time.Hour)
	for _, c := range []struct{ value, want string }{
		{"Deploy:write", "malformed"},
		{"deploy:", "malformed"},
		{"deploy write", "give several as --scope a,b"},
		{strings.Repeat("a", scope.MaxLen+1), "at most 64 characters"},
	} {
		for _, verb := range [][]string{{"create", "x"}, {"list"}} {
			_, errOut, code := e.run(append(verb, "--scope", c.value)...)
			if code != 2 || !strings.Contains(errOut, "invalid --scope") || !strings.Contains(errOut, c.want) ||
				strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("%s --scope %q: exit %d, %q; want exit 2 and one line with %q", verb[0], c.value, code, errOut, c.want)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.creates) != 0 || s.pages != 0 {
		t.Errorf("%d creates and %d list pages reached the server; want none", len(s.creates), s.pages)
	}
}
