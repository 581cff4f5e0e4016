package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
)

func TestLoginTokenName(t *testing.T) {
	long := strings.Repeat("h", 300)
	tests := []struct {
		host string
		err  error
		want string
	}{
		{"build-7", nil, "tokenctl@build-7"},
		{"", nil, "tokenctl@unknown-host"},
		{"x", errors.New("no hostname"), "tokenctl@unknown-host"},
		{long, nil, ("tokenctl@" + long)[:api.MaxNameLen]},
	}
	for _, tt := range tests {
		got := loginTokenName(func() (string, error) { return tt.host, tt.err })
		if got != tt.want {
			t.Errorf("host %.10q: got %q, want %q", tt.host, got, tt.want)
		}
	}
}
