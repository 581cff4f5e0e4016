package oidcverify_test

import (
	"testing"

	"github.com/tokenctl/tokenctl/internal/oidcverify"
)

// An issuer on plain http is trusted only on this machine, by the same
// rule tokenctl uses for its host (netaddr.IsLoopback): the old copy here
// refused "localhost." and would have been one more rule to keep in step.
func TestCheckIssuerURLLoopbackRule(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://localhost:8080", true},
		{"http://localhost.:8080", true},
		{"http://127.0.0.2/issuer", true},
		{"http://[::1]:9000", true},
		{"https://token.actions.githubusercontent.com", true},
		{"http://localhost.evil.com", false},
		{"http://10.0.0.1", false},
		{"http://token.actions.githubusercontent.com", false},
	} {
		err := oidcverify.CheckIssuerURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckIssuerURL(%q) = %v, want ok=%v", c.url, err, c.ok)
		}
	}
}
