package cmdutil

import (
	"fmt"
	"io"
	"strings"
)

// MaskSecret tells a CI runner to hide secret from its logs before tokenctl
// prints it. GitHub Actions reads workflow commands from stdout and stderr
// alike, so the mask goes to stderr and stdout keeps carrying only data
// (`$(tokenctl token create -q)` stays clean and masked).
func MaskSecret(stderr io.Writer, getenv func(string) string, secret string) {
	if secret == "" || strings.ContainsAny(secret, "\r\n") {
		return
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		fmt.Fprintf(stderr, "::add-mask::%s\n", secret)
	}
}
