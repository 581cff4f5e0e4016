package tokend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
)

// The list and delete subcommands of the things an operator names (users,
// scopes, webhooks, sso providers, trust policies) behave alike on purpose:
// one owner here keeps their output and wording from drifting apart.

// namedListing is what one list command fetches and how it shows it; the
// rest of the command is listNamed's.
type namedListing[T any] struct {
	what string // in "list WHAT: <store error>"
	// fetch takes the store first so a method expression such as
	// store.Store.ListUsers serves as it is.
	fetch func(store.Store, context.Context) ([]T, error)
	name  func(T) string // the one line per item when piped
	// json writes -o json; nil writes the items as they are.
	json func(io.Writer, []T) error
	// empty goes to stderr instead of a header-only table; "" keeps the
	// header (a list that is never empty, such as scopes).
	empty  string
	header string // tab-separated
	row    func(T) string
}

// listNamed runs a list command: -o json, one name per line when piped (so
// scripts get names), else an aligned table or the empty note on stderr.
// output "" is the default, so a command without -o passes "".
func listNamed[T any](ctx context.Context, e *env, database, output string, l namedListing[T]) error {
	if err := checkOutput(output, "table", "json"); err != nil {
		return err
	}
	items, err := listAll(ctx, database, l.what, l.fetch)
	if err != nil {
		return err
	}
	switch {
	case output == "json" && l.json != nil:
		return l.json(e.stdout, items)
	case output == "json":
		return writeJSON(e.stdout, items)
	case output == "" && !isTerminal(e.stdout):
		for _, it := range items {
			fmt.Fprintln(e.stdout, l.name(it))
		}
		return nil
	}
	if len(items) == 0 && l.empty != "" {
		fmt.Fprintln(e.stderr, l.empty)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.header)
	for _, it := range items {
		fmt.Fprintln(tw, l.row(it))
	}
	return tw.Flush()
}

// listAll opens the store just for reading what a list command shows.
func listAll[T any](ctx context.Context, database, what string, fetch func(store.Store, context.Context) ([]T, error)) ([]T, error) {
	st, err := openStore(ctx, database)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	items, err := fetch(st, ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return items, nil
}

// deleteNamed runs `tokend GROUP delete NAME` for a thing called kind
// ("sso provider") whose deletion needs no more than its name.
func deleteNamed(ctx context.Context, e *env, database, group, kind, name string, del func(store.Store, context.Context, string) error) error {
	st, err := openStore(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()
	err = del(st, ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return noSuch(group, kind, name)
	case err != nil:
		return fmt.Errorf("delete %s %s: %w", kind, name, err)
	}
	fmt.Fprintf(e.stderr, "Deleted %s %s.\n", kind, name)
	return nil
}

// noSuch is the error for a NAME that is not there: it points at the list
// and quotes no more of NAME than a line holds.
func noSuch(group, kind, name string) error {
	return fmt.Errorf("no %s %q; see tokend %s list", kind, text.Truncate(name, quoteLen), group)
}
