package token

import (
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// A secret pasted (whole, mistyped or truncated) where an id belongs must not be echoed back: error
// messages end up in terminals' scrollback and CI logs.
func TestMalformedIDErrorsNeverEchoASecret(t *testing.T) {
	tok, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	s := tok.String()
	for _, in := range []string{s, s[:10] + "-" + s[11:], s[:len(s)-3]} {
		if err := checkID(in); err == nil || strings.Contains(err.Error(), in[4:12]) || !strings.Contains(err.Error(), "not shown") {
			t.Errorf("checkID error shows the secret or does not say it is hidden: %v", err)
		}
		_, err := readIDs(strings.NewReader("# ids\n" + in + " leaked\n"))
		if err == nil || strings.Contains(err.Error(), in[4:12]) || !strings.Contains(err.Error(), "stdin line 2") {
			t.Errorf("readIDs error shows the secret or no line number: %v", err)
		}
	}
	if err := checkID("not-an-id"); err == nil || !strings.Contains(err.Error(), `"not-an-id"`) {
		t.Errorf("an ordinary mistake should be quoted back: %v", err)
	}
}
