// Package credential decides where tokenctl's own credential lives and finds
// it again: the TOKENCTL_TOKEN environment variable, the OS keyring, or an
// opt-in plain file, first hit wins.
package credential

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokenctl/tokenctl/internal/text"
)

// KeyringService is the keyring service name; the account is user@host (see AccountKey).
const KeyringService = "tokenctl"

// DefaultKeyringTimeout bounds every keyring call: a locked or absent Secret
// Service must turn into an error, not a hung CLI.
const DefaultKeyringTimeout = 3 * time.Second

// ErrNotFound means no credential is stored for the host.
var ErrNotFound = errors.New("no credential stored")

// KeyringError means the OS keyring could not be used. Its message names the
// ways forward, so commands can show it as is.
type KeyringError struct {
	Op  string // "read", "store" or "delete"
	Err error
}

func (e *KeyringError) Error() string {
	return fmt.Sprintf("the OS keyring is not available (%s: %s): start or unlock a Secret Service such as gnome-keyring, or set TOKENCTL_TOKEN, or log in with --insecure-storage",
		e.Op, text.OneLine(e.Err.Error()))
}

func (e *KeyringError) Unwrap() error { return e.Err }

// Keyring wraps go-keyring with a timeout on every call.
type Keyring struct {
	Timeout time.Duration // 0 means DefaultKeyringTimeout
}

// Get returns the secret stored for host, ErrNotFound, or a *KeyringError.
func (k Keyring) Get(host string) (string, error) {
	var secret string
	err := k.call("read", func() error {
		var err error
		secret, err = keyring.Get(KeyringService, host)
		return err
	})
	return secret, err
}

// Set stores secret for host, replacing any previous one.
func (k Keyring) Set(host, secret string) error {
	return k.call("store", func() error { return keyring.Set(KeyringService, host, secret) })
}

// Delete removes host's secret; ErrNotFound when there was none.
func (k Keyring) Delete(host string) error {
	return k.call("delete", func() error { return keyring.Delete(KeyringService, host) })
}

func (k Keyring) call(op string, fn func() error) error {
	if err := sessionBus(); err != nil {
		return &KeyringError{Op: op, Err: err}
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	// The goroutine may outlive the timeout if D-Bus never answers; it
	// holds nothing but its own result, and the process exits soon anyway.
	done := make(chan error, 1)
	go func() { done <- fn() }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, keyring.ErrNotFound):
			return ErrNotFound
		default:
			return &KeyringError{Op: op, Err: err}
		}
	case <-t.C:
		return &KeyringError{Op: op, Err: fmt.Errorf("no answer within %s", timeout)}
	}
}
