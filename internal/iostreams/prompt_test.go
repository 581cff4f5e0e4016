package iostreams

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPromptReadsLinesInTurn(t *testing.T) {
	s, in, _, errOut := Test()
	in.WriteString("deploy\n  prod deploys \n")
	for _, want := range []string{"deploy", "prod deploys"} {
		got, err := s.Prompt(context.Background(), "? ")
		if err != nil || got != want {
			t.Fatalf("Prompt = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := s.Prompt(context.Background(), "? "); !errors.Is(err, io.EOF) {
		t.Fatalf("at end of input: %v, want io.EOF", err)
	}
	if errOut.String() != "? ? ? " {
		t.Fatalf("questions on stderr: %q", errOut.String())
	}
}

// blocked is stdin that never answers, like a terminal nobody types at.
type blocked struct{}

func (blocked) Read([]byte) (int, error) { select {} }

func TestPromptEndsAtOnceWhenInterrupted(t *testing.T) {
	s, _, _, errOut := Test()
	s.In = blocked{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := s.Prompt(ctx, "Delete them? [y/N] ")
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted (a context.Canceled)", err)
	}
	if !strings.HasSuffix(errOut.String(), "\n") {
		t.Fatalf("no newline after the interrupted prompt: %q", errOut.String())
	}
}
