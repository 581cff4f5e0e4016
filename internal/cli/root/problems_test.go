package root

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

// problemRow is a refusal as tokend sends it (status, code, a detail it
// really writes) and the exit code every command must end with.
type problemRow struct {
	ident  string // the api constant's name, to check the table is complete
	code   string
	status int
	detail string
	extra  map[string]any // other members (reason, unknown_scopes, …)
	exit   int
}

var problemRows = []problemRow{
	{"CodeBadRequest", api.CodeBadRequest, 400, "limit must be an integer from 1 to 1000", nil, 2},
	{"CodeInvalidJSON", api.CodeInvalidJSON, 400, "invalid JSON: unexpected end of JSON input", nil, 2},
	{"CodeValidation", api.CodeValidation, 400, "unknown scope(s): nope:nope; GET /v1/scopes lists the ones this server defines", map[string]any{"unknown_scopes": []string{"nope:nope"}}, 2},
	{"CodeValidation", api.CodeValidation, 400, "name must not be empty", nil, 2},
	{"CodeUnauthorized", api.CodeUnauthorized, 401, "the bearer token expired at 2026-12-01T00:00:00Z; create a new one", nil, 4},
	{"CodeNotFound", api.CodeNotFound, 404, "no token with id \"01jd8k2m4n5p6q7r8s9t0v1w2x\"", nil, 1},
	{"CodeMethodNotAllowed", api.CodeMethodNotAllowed, 405, "DELETE is not allowed on /v1/scopes; use GET, HEAD", nil, 1},
	{"CodeBodyTooLarge", api.CodeBodyTooLarge, 413, "request body is larger than 65536 bytes", nil, 2},
	{"CodeUnsupportedMedia", api.CodeUnsupportedMedia, 415, "missing Content-Type; send the body as application/json", nil, 1},
	{"CodeInsufficientScope", api.CodeInsufficientScope, 403, "this token lacks tokens:read (it was made with: deploy:write); use a token that has it, or create one with that scope", map[string]any{"required_scopes": []string{"tokens:read"}, "token_scopes": []string{"deploy:write"}}, 4},
	{"CodeExceedsParent", api.CodeExceedsParent, 403, "a token can only create tokens within its own scopes; this one lacks tokens:write (it has: tokens:read)", nil, 4},
	{"CodeTokenExpired", api.CodeTokenExpired, 409, "token 01jd8k2m4n5p6q7r8s9t0v1w2x has expired and cannot be rotated; create a new token instead", nil, 1},
	{"CodeTokenLimitReached", api.CodeTokenLimitReached, 409, "you already have 100 live tokens, the most this server allows; delete some (tokenctl token delete --expired, or by name) and try again", nil, 1},
	{"CodeNotAToken", api.CodeNotAToken, 400, "this request was made with a password, not a token; send Authorization: Bearer <token>", nil, 2},
	{"CodeIdempotencyMismatch", api.CodeIdempotencyMismatch, 422, "this Idempotency-Key was already used with a different request body; use a new key for a new token", nil, 2},
	{"CodeRateLimited", api.CodeRateLimited, 429, "too many failed credentials from this address; retry in 1 seconds", nil, 1},
	{"CodeRateLimited", api.CodeRateLimited, 429, "too many wrong passwords for this account from this address; retry in 60 seconds", nil, 1},
	{"CodeInternal", api.CodeInternal, 500, "the server could not complete the request; it has been logged with the request id", nil, 1},
	{"CodeUnavailable", api.CodeUnavailable, 503, "the store is not reachable", nil, 1},
	{"CodePasswordChecksBusy", api.CodePasswordChecksBusy, 503, "too many password checks are running; retry in 1 second, or sign in with a token", nil, 1},
	{"CodeSubjectTokenRejected", api.CodeSubjectTokenRejected, 401, "the identity token was refused (replayed): its jti was seen before", map[string]any{"reason": api.ReasonReplayed}, 4},
	{"CodeNoMatchingPolicy", api.CodeNoMatchingPolicy, 403, "no trust policy of issuer \"https://i.example\" accepts this identity (sub \"repo:a/b\"); the operator can compare its claims with tokend trust list", nil, 4},
	{"CodeAdminRequired", api.CodeAdminRequired, 403, "this needs an admin's token; bob is not an admin", nil, 4},
	{"CodeUserExists", api.CodeUserExists, 409, "a user named \"jenkins\" already exists", nil, 1},
	{"CodeLifetimeCapped", api.CodeLifetimeCapped, 400, "scope deploy:write caps a token's lifetime at 7d (604800 seconds); asked for 30d; ask for less or leave the expiry out", nil, 2},
	{"CodeAuthorizationPending", api.CodeAuthorizationPending, 400, "not approved yet; poll again after the interval", nil, 1},
	{"CodeSlowDown", api.CodeSlowDown, 400, "polled too soon; wait the interval between polls", map[string]any{"interval": 10}, 1},
	{"CodeExpiredToken", api.CodeExpiredToken, 400, "unknown or expired device code; start again with tokenctl auth login --web", nil, 4},
	{"CodeAccessDenied", api.CodeAccessDenied, 400, "the sign-in was refused in the browser or by the server's policy", nil, 4},
	{"CodeSSONotConfigured", api.CodeSSONotConfigured, 403, "this server has no sign-in provider; log in with a password, or ask its operator to add one with tokend sso add", nil, 1},
	{"CodeExceedsPolicy", api.CodeExceedsPolicy, 403, "expires_in_seconds 7200 is longer than trust policy gha allows (900, 15m0s); ask for less or leave it out", nil, 4},
}

// Every problem code tokend can send, met by different commands: the same
// exit code everywhere, one line, nothing said twice, and advice in
// tokenctl's terms, never an API call.
func TestEveryProblemCodeMapsTheSameInEveryCommand(t *testing.T) {
	commands := [][]string{
		{"token", "list"},
		{"audit"},
		{"scope", "list"},
		{"token", "create", "x", "-q"},
		{"token", "show", "01jd8k2m4n5p6q7r8s9t0v1w2x"},
		{"admin", "token", "list"},
		{"admin", "user", "disable", "bob"},
	}
	apiCall := regexp.MustCompile(`\b(GET|POST|PUT|PATCH|DELETE) /v1/`)
	for _, row := range problemRows {
		t.Run(row.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := map[string]any{"type": "https://tokenctl.dev/problems/" + row.code, "title": http.StatusText(row.status),
					"status": row.status, "detail": row.detail, "code": row.code}
				for k, v := range row.extra {
					body[k] = v
				}
				w.Header().Set("Content-Type", api.ProblemContentType)
				if row.status == http.StatusTooManyRequests || row.status == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", "0")
				}
				w.WriteHeader(row.status)
				_ = json.NewEncoder(w).Encode(body)
			}))
			defer srv.Close()
			vars := map[string]string{"HOME": t.TempDir(), "TOKENCTL_HOST": srv.URL, "TOKENCTL_TOKEN": wellFormedToken(t)}
			for _, args := range commands {
				r := run(t, vars, args...)
				if r.code != row.exit {
					t.Errorf("%v: exit %d, want %d (%q)", args, r.code, row.exit, r.stderr)
				}
				line := strings.TrimSuffix(r.stderr, "\n")
				if r.stdout != "" || line == "" || strings.Contains(line, "\n") || !strings.HasPrefix(line, "tokenctl: ") {
					t.Errorf("%v: stdout %q, stderr %q; want nothing and one line", args, r.stdout, r.stderr)
				}
				if d := repeated(line); d != "" {
					t.Errorf("%v: %q says %q twice", args, line, d)
				}
				if apiCall.MatchString(line) {
					t.Errorf("%v: %q names an API call as advice", args, line)
				}
			}
		})
	}
}

// repeated returns a run of three words that occurs twice in s, or "".
func repeated(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == ':' || r == '.' || r == '/')
	})
	seen := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		k := strings.Join(words[i:i+3], " ")
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}

func TestRepeatedFindsDoubledText(t *testing.T) {
	for _, s := range []string{
		"tokend refused the identity token (replayed): the identity token was refused (replayed)",
		"h refused: token x has expired and cannot be rotated; create a new token instead; an expired token cannot be rotated: create a new one with tokenctl token create",
	} {
		if repeated(s) == "" {
			t.Errorf("repeated(%q) found nothing", s)
		}
	}
	if d := repeated("credential for http://h was rejected (expired or revoked): run `tokenctl auth login --host http://h`"); d != "" {
		t.Errorf("found %q", d)
	}
}

// The table above covers every problem code the server's source names, so
// a new code cannot ship without deciding its exit code here.
func TestProblemTableCoversTheServersCodes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "server", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("server sources: %v", err)
	}
	have := map[string]bool{}
	for _, r := range problemRows {
		have[r.ident] = true
	}
	used := regexp.MustCompile(`\bapi\.(Code[A-Z]\w*)\b`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(src), -1) {
			if !have[m[1]] {
				t.Errorf("%s sends api.%s, which the table does not cover", filepath.Base(f), m[1])
			}
		}
	}
}
