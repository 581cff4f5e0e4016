// Package exitcode holds the exit codes tokenctl and tokend end with — the
// contract scripts branch on (README, docs) — and the usage error that maps
// to ExitUsage in both programs.
package exitcode

import "fmt"

// Exit codes.
const (
	OK          = 0
	Error       = 1
	Usage       = 2   // bad input, caught before anything was sent
	Partial     = 3   // a bulk operation did only part of its work
	Auth        = 4   // not logged in, or the credential was rejected
	Expiring    = 5   // `auth status --fail-within D`: valid, but expires within D
	Interrupted = 130 // Ctrl-C: 128+SIGINT, as shells report it
)

// UsageError is bad command-line input (exit Usage).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}
