package client

import (
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/netaddr"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"tokens.example.com", "https://tokens.example.com"},
		{"https://Tokens.Example.com/", "https://tokens.example.com"},
		{"https://tokens.example.com/api/?q=1#x", "https://tokens.example.com/api"},
		{"localhost:8080", "http://localhost:8080"},
		{"127.0.0.1:9", "http://127.0.0.1:9"},
		{"[::1]:8080", "http://[::1]:8080"},
		{"http://127.1.2.3", "http://127.1.2.3"},
		{"http://localhost.", "http://localhost."},
		{"http://localhost.example.com", ""},
		{"http://127.0.0.1.nip.io", ""},
		{"http://[::2]", ""},
		{"https://user:pw@tokens.example.com", ""},
		{"ftp://tokens.example.com", ""},
		{"", ""},
		{"https://", ""},
	}
	for _, tt := range tests {
		u, err := NormalizeHost(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("NormalizeHost(%q) = %s, want refused", tt.in, u)
		case tt.want != "" && err != nil:
			t.Errorf("NormalizeHost(%q) refused: %v", tt.in, err)
		case tt.want != "" && u.String() != tt.want:
			t.Errorf("NormalizeHost(%q) = %s, want %s", tt.in, u, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error for %q repeats the password: %v", tt.in, err)
		}
	}
}

// FuzzNormalizeHost: any input either is refused with an error or yields
// https, or http to a loopback host; never a panic.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"localhost:8080", "https://x.example", "http://10.0.0.1", "http://[::1]:1", "http://localhost.evil.com", "%zz", "http://127.0.0.1@evil.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := NormalizeHost(s)
		if err != nil {
			return
		}
		switch u.Scheme {
		case "https":
		case "http":
			if !netaddr.IsLoopback(u.Hostname()) {
				t.Fatalf("%q accepted as plain http to %q", s, u.Hostname())
			}
		default:
			t.Fatalf("%q gave scheme %q", s, u.Scheme)
		}
		if u.User != nil {
			t.Fatalf("%q kept userinfo", s)
		}
	})
}
