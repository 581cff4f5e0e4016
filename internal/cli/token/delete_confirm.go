// token delete, step 2: show the selection and ask before deleting.

package token

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
)

// confirm shows the selection and asks, or refuses without a terminal.
// With --yes it only shows it: the whole preview on a terminal, the count
// otherwise.
func (o *DeleteOptions) confirm(ctx context.Context, targets []target) error {
	n := len(targets)
	w := o.IO.ErrOut
	if o.Yes {
		if o.IO.IsStderrTTY() {
			o.preview(targets)
		} else {
			fmt.Fprintf(w, "Deleting %s\n", plural(n, "token", "tokens"))
		}
		return nil
	}
	if !o.IO.CanPrompt() || o.FromStdin {
		return cmdutil.UsageErrorf("refusing to delete %s without confirmation: pass --yes to delete them or --dry-run to list them", plural(n, "token", "tokens"))
	}
	o.preview(targets)
	if n > confirmThreshold || o.All {
		answer, err := o.IO.Prompt(ctx, fmt.Sprintf("Type %d to delete them: ", n))
		if errors.Is(err, iostreams.ErrInterrupted) {
			return err
		}
		if answer != strconv.Itoa(n) {
			return errors.New("not confirmed: nothing was deleted")
		}
		return nil
	}
	return confirmYes(ctx, o.IO, "Delete them? [y/N] ", "not confirmed: nothing was deleted")
}

// confirmYes asks a yes/no question whose default is no. Anything but y or
// yes, end of input included, is a refusal with the given message; Ctrl-C
// is ErrInterrupted.
func confirmYes(ctx context.Context, ios *iostreams.IOStreams, question, refused string) error {
	answer, err := ios.Prompt(ctx, question)
	if errors.Is(err, iostreams.ErrInterrupted) {
		return err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return nil
	}
	return errors.New(refused)
}

// previewReserve is the lines a preview leaves for what surrounds the
// rows: its heading, the table header, the "… and N more" line, the prompt
// and the line typed after it.
const previewReserve = 5

// preview prints the count, then as many of the tokens as fit the
// terminal under it (so the heading has not scrolled away when the
// question comes), then how many more there are.
func (o *DeleteOptions) preview(targets []target) {
	w := o.IO.ErrOut
	n := len(targets)
	fmt.Fprintf(w, "About to delete %s:\n", plural(n, "token", "tokens"))
	rows := max(o.IO.TerminalHeight()-previewReserve, 3)
	tbl := output.NewTable("ID", "NAME")
	for i, t := range targets {
		if i == rows {
			break
		}
		tbl.AddRow(output.StylePlain, t.id, t.name)
	}
	if o.IO.IsStderrTTY() {
		tbl.Fit(o.IO.TerminalWidth(), "NAME", minNameWidth)
	}
	_ = tbl.Render(w, false)
	if n > rows {
		fmt.Fprintf(w, "… and %d more (%s in all)\n", n-rows, plural(n, "token", "tokens"))
	}
}
