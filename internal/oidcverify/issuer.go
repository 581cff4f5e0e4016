// Package oidcverify verifies CI identity tokens (OIDC ID tokens and other
// JWTs) against their issuer's published keys, for POST /v1/tokens/exchange.
package oidcverify

import (
	"fmt"
	"net/url"

	"github.com/tokenctl/tokenctl/internal/netaddr"
)

// CheckIssuerURL accepts what a trust policy may name as an issuer: an
// absolute https URL with a host and no query or fragment, or http on a
// loopback address (tests and issuers on the same machine). Keys are only
// ever fetched from such a URL, so a policy cannot point tokend at plain
// HTTP across a network.
func CheckIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("issuer %q is not an absolute URL; give one like https://token.actions.githubusercontent.com", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("issuer %q must not carry a query, fragment or user info", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if netaddr.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("issuer %q uses http; only https is trusted (http only on a loopback address)", s)
	default:
		return fmt.Errorf("issuer %q must be an https URL", s)
	}
}
