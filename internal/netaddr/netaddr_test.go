package netaddr

import "testing"

func TestIsLoopback(t *testing.T) {
	for _, c := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"localhost.", true},
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped loopback
		{"localhost.evil.com", false},
		{"evil-localhost", false},
		{"app.localhost", false},
		{"localhost:8080", false}, // a port is the caller's to strip
		{"128.0.0.1", false},
		{"126.255.255.255", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::2", false},
		{"[::1", false},
		{"10.0.0.1", false},
		{"", false},
		{"127.0.0.1.nip.io", false},
	} {
		if got := IsLoopback(c.host); got != c.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", c.host, got, c.want)
		}
	}
}
