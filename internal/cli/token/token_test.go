package token

import (
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/secret"
)

// A secret pasted (whole, mistyped or truncated) where an id or name belongs must not be echoed back: error
// messages end up in terminals' scrollback and CI logs.
func TestMalformedIDErrorsNeverEchoASecret(t *testing.T) {
	tok, err := secret.Generate(secret.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	s := tok.String()
	for _, in := range []string{s, s[:10] + "-" + s[11:], s[:len(s)-3]} {
		if _, err := parseRef(in); err == nil || strings.Contains(err.Error(), in[4:12]) || !strings.Contains(err.Error(), "not shown") {
			t.Errorf("parseRef error shows the secret or does not say it is hidden: %v", err)
		}
		_, err := readIDs(strings.NewReader("# ids\n" + in + " leaked\n"))
		if err == nil || strings.Contains(err.Error(), in[4:12]) || !strings.Contains(err.Error(), "stdin line 2") {
			t.Errorf("readIDs error shows the secret or no line number: %v", err)
		}
	}
	if _, err := parseRef("bad\x01name"); err == nil || !strings.Contains(err.Error(), `"bad\x01name"`) {
		t.Errorf("an ordinary mistake should be quoted back: %v", err)
	}
}
