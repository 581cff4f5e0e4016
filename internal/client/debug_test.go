package client

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/secret"
)

func TestRedactJSON(t *testing.T) {
	tok, _ := secret.Generate("acme_")
	tests := []struct {
		name, in, want string
	}{
		{"token field", `{"token":"abc","name":"ci"}`, `{"name":"ci","token":"[redacted]"}`},
		{"password and secret fields", `{"password":"p","client_secret":"s","user":"u"}`, `{"client_secret":"[redacted]","password":"[redacted]","user":"u"}`},
		{"nested token object is walked, not dropped", `{"token":{"id":"t1","key_hint":"tkn_ab…yz"}}`, `{"token":{"id":"t1","key_hint":"tkn_ab…yz"}}`},
		{"a token anywhere is caught", `{"items":[{"description":"` + tok.String() + `"}]}`, `{"items":[{"description":"[redacted]"}]}`},
		{"non-string sensitive values stay", `{"token":null,"password":3}`, `{"password":3,"token":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(RedactJSON(v))
			if string(out) != tt.want {
				t.Errorf("got %s, want %s", out, tt.want)
			}
		})
	}
}

// FuzzRedactJSON: whatever the JSON, a generated token placed in it never
// survives redaction, and nothing panics.
func FuzzRedactJSON(f *testing.F) {
	f.Add(`{"a":%s}`)
	f.Add(`[%s, {"token": %s}]`)
	f.Add(`{"x":{"y":[1,2,{"z":%s}]}}`)
	f.Add(`{%s:1}`)
	tok, _ := secret.Generate("tkn_")
	quoted, _ := json.Marshal(tok.String())
	f.Fuzz(func(t *testing.T, shape string) {
		doc := strings.ReplaceAll(shape, "%s", string(quoted))
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		out, err := json.Marshal(RedactJSON(v))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), tok.Random) {
			t.Fatal("a token survived redaction")
		}
	})
}
