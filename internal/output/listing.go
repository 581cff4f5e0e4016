package output

import (
	"fmt"
	"io"
	"iter"
)

// Terminal is what a listing needs to know about stdout
// (iostreams.IOStreams has it).
type Terminal interface {
	IsStdoutTTY() bool
	TerminalWidth() int
	ColorEnabled() bool
}

// Listing describes how the rows of one listing command print; List does
// the rest, so every listing (token list, audit, scope list) has the same
// -o, --jq and --template behaviour.
type Listing[T any] struct {
	// Header and Row make the table. Row returns the row's style too.
	Header []string
	Row    func(T) (Style, []string)
	// Fit narrows the table on a terminal; nil keeps every column.
	Fit func(t *Table, width int)

	// CSVHeader and CSVRecord make -o csv; the columns are the JSON fields.
	CSVHeader []string
	CSVRecord func(T) []string

	// Wrap gives an error from the listing its context ("list tokens: …").
	Wrap func(error) error
}

// List prints every item of seq to w in the format e chose and returns how
// many it printed. JSON and CSV stream (one item in memory); the table,
// YAML, --jq and --template hold the whole list. With nothing to list the
// table and CSV print nothing, JSON and YAML an empty array: the caller
// says so on stderr.
func List[T any](w io.Writer, term Terminal, e *Exporter, seq iter.Seq2[T, error], l Listing[T]) (int, error) {
	wrap := l.Wrap
	if wrap == nil {
		wrap = func(err error) error { return err }
	}
	switch e.Kind() {
	case KindJSON:
		return StreamJSON(w, seq, wrap)
	case KindCSV:
		if l.CSVRecord == nil {
			return 0, fmt.Errorf("output format %q cannot print this listing", e.Format)
		}
		return StreamCSV(w, l.CSVHeader, seq, l.CSVRecord, wrap)
	case KindDefault:
		tbl := NewTable(l.Header...)
		for v, err := range seq {
			if err != nil {
				return tbl.Len(), wrap(err)
			}
			st, row := l.Row(v)
			tbl.AddRow(st, row...)
		}
		if term.IsStdoutTTY() && l.Fit != nil {
			// Keep rows on one line for people; scripts get every column
			// whole.
			l.Fit(tbl, term.TerminalWidth())
		}
		if tbl.Len() == 0 {
			return 0, nil
		}
		return tbl.Len(), tbl.Render(w, term.ColorEnabled())
	}
	all := []T{}
	for v, err := range seq {
		if err != nil {
			return len(all), wrap(err)
		}
		all = append(all, v)
	}
	if len(all) == 0 && e.Kind() == KindYAML {
		_, err := fmt.Fprintln(w, "[]")
		return 0, err
	}
	return len(all), e.Write(w, all, term.IsStdoutTTY())
}
