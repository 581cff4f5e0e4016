package client

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/tokenctl/tokenctl/internal/netaddr"
)

// NormalizeHost turns user input ("localhost:8080", "https://x.example/")
// into a base URL. A missing scheme means https, except for loopback hosts,
// which get http. Plain http to a non-loopback host is refused.
func NormalizeHost(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("no host given: pass --host URL or set one with 'tokenctl config set host URL'")
	}
	if !strings.Contains(raw, "://") {
		scheme := "https://"
		if h := hostOnly(raw); netaddr.IsLoopback(h) {
			scheme = "http://"
		}
		raw = scheme + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid host %q: want a URL like https://tokens.example.com", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	switch u.Scheme {
	case "https":
	case "http":
		if !netaddr.IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("refusing plain http to %s: credentials would travel unencrypted; use https (http is allowed only for localhost, 127.0.0.0/8 and ::1)", u.Host)
		}
	default:
		return nil, fmt.Errorf("invalid host %q: scheme must be https (or http for loopback)", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid host %q: do not put credentials in the URL", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func hostOnly(hostport string) string {
	if i := strings.IndexAny(hostport, "/?#"); i >= 0 {
		hostport = hostport[:i]
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
