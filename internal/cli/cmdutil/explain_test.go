package cmdutil

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

func TestExplain(t *testing.T) {
	scopeProblem := &client.APIError{Host: "h", Status: 403, Problem: &api.Problem{Status: 403, Code: api.CodeInsufficientScope,
		Detail: "this token lacks tokens:write (it was made with: tokens:read); use a token that has it", RequiredScopes: []string{"tokens:read", "tokens:write"}, TokenScopes: []string{"tokens:read"}}}
	for _, c := range []struct {
		name string
		err  error
		msg  string
		code int
	}{
		{"nil", nil, "", 0},
		{"silent", fmt.Errorf("x: %w", ErrSilent), "", 1},
		{"child's exit code", &ExitCodeError{Code: 7}, "", 7},
		{"interrupt", fmt.Errorf("read: %w", iostreams.ErrInterrupted), "read: " + iostreams.ErrInterrupted.Error(), 130},
		{"usage, multi-line text made one line", UsageErrorf("bad\n  input"), "bad input", 2},
		{"context kept around a rewritten refusal, only the missing scope named", fmt.Errorf("delete tokens: %w", scopeProblem),
			"delete tokens: this token lacks tokens:write (it was made with: tokens:read); log in with a broader one or ask for --scope tokens:write", 4},
		{"a command's own AuthError is kept", &AuthError{Err: fmt.Errorf("wrong username or password for h: %w", &client.APIError{Host: "h", Status: 401})},
			"wrong username or password for h: h answered HTTP 401 Unauthorized", 4}, // not "credential … was rejected"
		{"a 403 without a problem body", &client.APIError{Host: "h", Status: 403}, "h answered HTTP 403 Forbidden", 4},
		{"a 422 without a problem body", &client.APIError{Host: "h", Status: 422}, "h answered HTTP 422 Unprocessable Entity", 2},
		{"a 502 without a problem body", &client.APIError{Host: "h", Status: 502}, "h answered HTTP 502 Bad Gateway", 1},
		{"a code decides over the status", &client.APIError{Host: "h", Status: 400, Problem: &api.Problem{Code: api.CodeUnsupportedMedia, Detail: "d"}}, "h: d (HTTP 400)", 1},
		{"token limit without a detail gets its advice once", &client.APIError{Host: "h", Status: 409, Problem: &api.Problem{Code: api.CodeTokenLimitReached}},
			"h refused: you have the most live tokens this server allows; delete those you no longer need (`tokenctl token delete --expired`)", 1},
		{"not an API error", errors.New("cannot reach h: connection refused"), "cannot reach h: connection refused", 1},
	} {
		msg, code := Explain(c.err, nil)
		if msg != c.msg || code != c.code {
			t.Errorf("%s: got %q, exit %d; want %q, exit %d", c.name, msg, code, c.msg, c.code)
		}
	}
}
