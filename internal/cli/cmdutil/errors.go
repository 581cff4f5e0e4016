// Package cmdutil holds what every tokenctl command shares: the factory of
// dependencies and the errors that decide the process's exit code.
package cmdutil

import (
	"errors"
	"fmt"

	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/exitcode"
	"github.com/tokenctl/tokenctl/internal/iostreams"
)

// Exit codes: the contract scripts branch on (documented in the README),
// defined once in package exitcode for tokenctl and tokend.
const (
	ExitOK          = exitcode.OK
	ExitError       = exitcode.Error
	ExitUsage       = exitcode.Usage
	ExitPartial     = exitcode.Partial
	ExitAuth        = exitcode.Auth
	ExitExpiring    = exitcode.Expiring
	ExitInterrupted = exitcode.Interrupted
)

// UsageError is bad input caught before anything was sent (exit 2).
type UsageError = exitcode.UsageError

// UsageErrorf builds a UsageError.
func UsageErrorf(format string, a ...any) error { return exitcode.Usagef(format, a...) }

// AuthError means there is no usable credential (exit 4). Its message says
// which command to run.
type AuthError struct{ Err error }

func (e *AuthError) Error() string { return e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// PartialError means a bulk operation did only part of its work (exit 3).
// The command has already printed its summary.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// ErrSilent ends a command with exit 1 after it printed its own message.
var ErrSilent = errors.New("silent error")

// ExitCodeError carries an exact exit code (token exec passes its child's).
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode is the exit code err ends tokenctl with; Explain gives the line
// that goes with it.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		ue  *UsageError
		ae  *AuthError
		pe  *PartialError
		ce  *ExitCodeError
		api *client.APIError
	)
	switch {
	case errors.Is(err, iostreams.ErrInterrupted):
		return ExitInterrupted
	case errors.As(err, &ce):
		return ce.Code
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ae):
		return ExitAuth
	case errors.As(err, &pe):
		return ExitPartial
	case errors.As(err, &api):
		return problemExit(api)
	}
	return ExitError
}
