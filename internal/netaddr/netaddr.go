// Package netaddr holds the one rule both programs use to decide whether a
// host is this machine: where plain http may carry a credential (tokenctl)
// or an issuer's keys may be fetched without TLS (tokend).
package netaddr

import (
	"net"
	"strings"
)

// IsLoopback reports whether host (no port; brackets around an IPv6
// address are allowed) is "localhost", an address in 127.0.0.0/8 or ::1.
// Case and one trailing dot are ignored. A name that merely starts with
// localhost ("localhost.evil.com") or ends in it ("app.localhost", which a
// resolver may send anywhere) is not loopback.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
