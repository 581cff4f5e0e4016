// Package iostreams owns stdin, stdout and stderr for tokenctl commands and
// knows whether each is a terminal and whether colour is wanted, so commands
// never probe the OS themselves and tests can fake every case.
package iostreams

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams is the I/O of one command run.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorEnabled                   bool
	termWidth, termHeight          int

	// ReadPassword reads one line from the terminal without echo; Ctrl-C
	// ends it with ErrInterrupted, echo restored. Tests replace it; it is
	// only called when stdin is a terminal.
	ReadPassword func() (string, error)

	lines *bufio.Reader // shared by every Prompt
}

// System returns streams bound to the process's stdin/stdout/stderr.
// Colour is on when stdout is a terminal, NO_COLOR is unset and TERM is not
// "dumb"; CLICOLOR_FORCE=1 forces it on.
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	s.colorEnabled = s.stdoutTTY && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	if os.Getenv("CLICOLOR_FORCE") == "1" && os.Getenv("NO_COLOR") == "" {
		s.colorEnabled = true
	}
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.termWidth = w
		}
	}
	// Height matters for what goes to stderr (previews above a prompt).
	if s.stderrTTY {
		if _, h, err := term.GetSize(int(os.Stderr.Fd())); err == nil {
			s.termHeight = h
		}
	}
	s.ReadPassword = func() (string, error) {
		return ReadPasswordFromTerminal(context.Background(), int(os.Stdin.Fd()))
	}
	return s
}

// Test returns streams over buffers: no terminals, no colour.
func Test() (s *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	s = &IOStreams{In: in, Out: out, ErrOut: errOut}
	s.ReadPassword = func() (string, error) { return "", io.EOF }
	return s, in, out, errOut
}

func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY and friends let tests pretend to be on a terminal.
func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// ColorEnabled reports whether stdout output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.colorEnabled }

// SetColorEnabled overrides the colour decision (--no-color, tests).
func (s *IOStreams) SetColorEnabled(v bool) { s.colorEnabled = v }

// CanPrompt reports whether the user can be asked questions: both stdin and
// stderr (where prompts go) must be terminals.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// SetTerminalWidth lets tests pretend stdout is a terminal this wide.
func (s *IOStreams) SetTerminalWidth(w int) { s.termWidth = w }

// TerminalWidth is stdout's width, or 80 when unknown.
func (s *IOStreams) TerminalWidth() int {
	if s.termWidth > 0 {
		return s.termWidth
	}
	return 80
}

// SetTerminalHeight lets tests pretend stderr is a terminal this tall.
func (s *IOStreams) SetTerminalHeight(h int) { s.termHeight = h }

// TerminalHeight is stderr's height in lines, or 24 when unknown.
func (s *IOStreams) TerminalHeight() int {
	if s.termHeight > 0 {
		return s.termHeight
	}
	return 24
}
