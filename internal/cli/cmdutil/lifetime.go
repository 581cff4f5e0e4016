package cmdutil

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
)

// LifetimeFlags say which flag asked for a token's lifetime, as the user
// typed it ("--expires-in 90d"), or "" when not given.
type LifetimeFlags struct {
	ExpiresIn string // also the default a command sent on its own
	ExpiresAt string
}

// NameLifetimeFlag turns the server's refusal of a lifetime, which speaks
// of the JSON fields expires_in_seconds and expires_at, into bad input
// (exit 2) that names the flag the user can change. Other errors pass
// through unchanged.
func NameLifetimeFlag(err error, f LifetimeFlags) error {
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code() != api.CodeValidation {
		return err
	}
	flag := ""
	switch d := ae.Problem.Detail; {
	case strings.HasPrefix(d, "expires_in_seconds"):
		flag = f.ExpiresIn
	case strings.HasPrefix(d, "expires_at"):
		flag = f.ExpiresAt
	}
	if flag == "" {
		return err
	}
	return &UsageError{Err: fmt.Errorf("invalid %s: %w", flag, err)}
}
