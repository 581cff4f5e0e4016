package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Style marks a table row or a piece of text for colour on a terminal.
type Style int

const (
	StylePlain Style = iota
	StyleAlert       // red: expired, failed
	StyleDim         // grey: secondary information
	StyleBold        // headers, the secret on create
	StyleGood        // green: success
	StyleWarn        // yellow: warnings
)

var ansi = map[Style]string{
	StyleAlert: "\x1b[31m",
	StyleDim:   "\x1b[2m",
	StyleBold:  "\x1b[1m",
	StyleGood:  "\x1b[32m",
	StyleWarn:  "\x1b[33m",
}

// Colorize wraps s in the ANSI codes of st when color is true. Callers pass
// IOStreams.ColorEnabled(), which is false off a terminal and with NO_COLOR.
func Colorize(color bool, st Style, s string) string {
	code, ok := ansi[st]
	if !color || !ok || s == "" {
		return s
	}
	return code + s + "\x1b[0m"
}

// Table collects rows and prints them aligned, gh style: upper-case
// headers, no borders, two spaces between columns. It holds every row, so
// commands that must stream (list -o json) use JSONArray or CSV instead.
type Table struct {
	headers []string
	rows    [][]string
	styles  []Style
}

// NewTable starts a table with the given column headers.
func NewTable(headers ...string) *Table {
	return &Table{headers: headers}
}

// AddRow appends a row; st colours the whole row on a terminal.
func (t *Table) AddRow(st Style, cells ...string) {
	t.rows = append(t.rows, cells)
	t.styles = append(t.styles, st)
}

// Len is the number of rows added.
func (t *Table) Len() int { return len(t.rows) }

// Render prints the table. With color the header is bold and styled rows
// are coloured; without it the output carries no escape sequence at all.
func (t *Table) Render(w io.Writer, color bool) error {
	var buf bytes.Buffer
	tbl := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off, ShowTop: tw.Off, ShowBottom: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
			Row: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
		}),
		tablewriter.WithPadding(tw.Padding{Right: "  ", Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	hdr := make([]any, len(t.headers))
	for i, h := range t.headers {
		hdr[i] = Colorize(color, StyleBold, h)
	}
	tbl.Header(hdr...)
	for i, row := range t.rows {
		cells := make([]string, len(row))
		for j, c := range row {
			// Control characters in names would break the layout or the
			// terminal; show them escaped instead.
			cells[j] = Colorize(color, t.styles[i], sanitize(c))
		}
		if err := tbl.Append(cells); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	// The renderer pads the last column too; drop that trailing space so
	// output diffs and copies cleanly.
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	bw := bufio.NewWriter(w)
	for sc.Scan() {
		bw.WriteString(trimRightSpace(sc.Text()))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// trimRightSpace drops trailing spaces, also those hidden before trailing
// colour escapes ("deploy  \x1b[0m" becomes "deploy\x1b[0m").
func trimRightSpace(line string) string {
	var esc []string
	for {
		line = strings.TrimRight(line, " ")
		if !strings.HasSuffix(line, "m") {
			break
		}
		i := strings.LastIndex(line, "\x1b[")
		if i < 0 || strings.ContainsFunc(line[i+2:len(line)-1], func(r rune) bool { return (r < '0' || r > '9') && r != ';' }) {
			break
		}
		esc = append(esc, line[i:])
		line = line[:i]
	}
	for i := len(esc) - 1; i >= 0; i-- {
		line += esc[i]
	}
	return line
}

// sanitize replaces control characters so untrusted text (token names and
// descriptions come from the server) cannot move the cursor or inject
// escape sequences.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Sanitize is sanitize for callers that print server text outside a table.
func Sanitize(s string) string { return sanitize(s) }

// CSV writes RFC 4180 records with a header row, one row at a time.
type CSV struct {
	w *csv.Writer
}

// NewCSV starts a CSV document on w with the given header.
func NewCSV(w io.Writer, header ...string) (*CSV, error) {
	c := &CSV{w: csv.NewWriter(w)}
	return c, c.Write(header...)
}

// Write appends one record.
func (c *CSV) Write(fields ...string) error {
	for i, f := range fields {
		fields[i] = csvSafe(f)
	}
	return c.w.Write(fields)
}

// Flush writes any buffered records and reports the first write error.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// csvSafe defuses spreadsheet formula injection: a cell that starts with
// = + - @ (or a tab/CR) is prefixed with a quote, as OWASP advises, since
// token names are user input and CSV output is often opened in a
// spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
