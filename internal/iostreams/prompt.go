package iostreams

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"
)

// ErrInterrupted is what a prompt returns when the user pressed Ctrl-C
// (or the command's context was cancelled) while it waited for an answer.
// It counts as context.Canceled for errors.Is, and the command should stop
// at once without doing anything more: callers exit 130.
var ErrInterrupted error = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string        { return "interrupted" }
func (interruptedError) Is(target error) bool { return target == context.Canceled }

// Prompt writes question to stderr and reads one line of stdin, without
// its line ending and surrounding space. io.EOF means stdin ended before
// an answer. Ctrl-C (SIGINT) or a cancelled ctx ends the wait at once with
// ErrInterrupted: a blocked read of a terminal in line mode would
// otherwise swallow the interrupt until Enter.
func (s *IOStreams) Prompt(ctx context.Context, question string) (string, error) {
	fmt.Fprint(s.ErrOut, question)
	r := s.lineReader()
	return s.interruptible(ctx, func() (string, error) {
		line, err := r.ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		return strings.TrimSpace(line), err
	}, nil)
}

// lineReader is one buffered reader over In for every prompt of the run,
// so an answer typed ahead (or piped in tests) is not lost between them.
func (s *IOStreams) lineReader() *bufio.Reader {
	if s.lines == nil {
		s.lines = bufio.NewReader(s.In)
	}
	return s.lines
}

// ReadPasswordFromTerminal reads one line from the terminal fd with echo
// off. On Ctrl-C or when ctx is cancelled it puts the terminal back as it
// was (echo on) and returns ErrInterrupted at once. Like term.ReadPassword
// it leaves printing the newline to the caller.
func ReadPasswordFromTerminal(ctx context.Context, fd int) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	return interruptible(ctx, true, func() (string, error) {
		b, err := term.ReadPassword(fd)
		return string(b), err
	}, func() { _ = term.Restore(fd, state) })
}

func (s *IOStreams) interruptible(ctx context.Context, read func() (string, error), onInterrupt func()) (string, error) {
	return interruptible(ctx, s.stdinTTY, read, func() {
		if onInterrupt != nil {
			onInterrupt()
		}
		// Leave the cursor on a fresh line after the echoed ^C.
		fmt.Fprintln(s.ErrOut)
	})
}

// interruptible runs read and waits for it, for ctx to be done, or (when
// watchSignal) for SIGINT, whichever comes first. An interrupted read is
// abandoned: its goroutine stays blocked on the terminal, which is fine
// because the command is about to exit.
func interruptible(ctx context.Context, watchSignal bool, read func() (string, error), onInterrupt func()) (string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Err() != nil {
		return "", ErrInterrupted
	}
	var sig chan os.Signal
	if watchSignal {
		// root's signal.NotifyContext gets SIGINT too; listening here as
		// well covers prompts that are not given that context.
		sig = make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		defer signal.Stop(sig)
	}
	type answer struct {
		s   string
		err error
	}
	done := make(chan answer, 1)
	go func() {
		s, err := read()
		done <- answer{s, err}
	}()
	select {
	case a := <-done:
		return a.s, a.err
	case <-sig:
	case <-ctx.Done():
	}
	onInterrupt()
	return "", ErrInterrupted
}
