// token delete, step 2: show the selection and ask before deleting.

package token

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/output"
)

// confirm shows the selection and asks, or refuses without a terminal.
// With --yes it only shows it: the whole preview on a terminal, the count
// otherwise.
func (o *DeleteOptions) confirm(targets []target) error {
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
	r := bufio.NewReader(o.IO.In)
	if n > confirmThreshold || o.All {
		fmt.Fprintf(w, "Type %d to delete them: ", n)
		line, _ := r.ReadString('\n')
		if strings.TrimSpace(line) != strconv.Itoa(n) {
			return errors.New("not confirmed: nothing was deleted")
		}
		return nil
	}
	fmt.Fprint(w, "Delete them? [y/N] ")
	line, _ := r.ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed: nothing was deleted")
}

// preview prints the count and the first few tokens on stderr.
func (o *DeleteOptions) preview(targets []target) {
	w := o.IO.ErrOut
	n := len(targets)
	fmt.Fprintf(w, "About to delete %s:\n", plural(n, "token", "tokens"))
	tbl := output.NewTable("ID", "NAME")
	for i, t := range targets {
		if i == 5 {
			break
		}
		tbl.AddRow(output.StylePlain, t.id, t.name)
	}
	_ = tbl.Render(w, false)
	if n > 5 {
		fmt.Fprintf(w, "… and %d more\n", n-5)
	}
}
