package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
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

	// Fitting to a terminal (see Fit); zero means print everything.
	maxWidth  int
	steps     []FitStep
	shrinkCol int // column cut with "…" last; -1 for none
	shrinkMin int
}

// FitStep is one way to make a table narrower, tried in order by Fit
// until the table fits: dropping a column or shortening its cells.
type FitStep struct {
	col     string
	shorten func(string) string // nil: drop the column
}

// Drop removes the column with header col.
func Drop(col string) FitStep { return FitStep{col: col} }

// Shorten rewrites every cell of the column with header col.
func Shorten(col string, fn func(string) string) FitStep { return FitStep{col: col, shorten: fn} }

// Cut cuts the cells of column col to at most width display columns,
// ending in "…" where something was cut.
func Cut(col string, width int) FitStep {
	return Shorten(col, func(s string) string { return cutWidth(s, width) })
}

func cutWidth(s string, width int) string {
	if twwidth.Width(s) <= width {
		return s
	}
	return twwidth.Truncate(s, width-1) + "…"
}

// Fit makes Render keep lines within width display columns, the way gh
// fits a terminal: the steps run in order until the table fits, and only
// then is the shrink column cut with "…", down to minWidth. Nothing is
// cut when width is 0 (output that is not a terminal stays complete). A
// table that cannot fit even so is printed as narrow as it got.
func (t *Table) Fit(width int, shrink string, minWidth int, steps ...FitStep) {
	t.maxWidth, t.steps, t.shrinkMin = width, steps, minWidth
	t.shrinkCol = slices.Index(t.headers, shrink)
}

// NewTable starts a table with the given column headers.
func NewTable(headers ...string) *Table {
	return &Table{headers: headers, shrinkCol: -1}
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
	headers, rows := t.fitted()
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
	hdr := make([]any, len(headers))
	for i, h := range headers {
		hdr[i] = Colorize(color, StyleBold, h)
	}
	tbl.Header(hdr...)
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, c := range row {
			cells[j] = Colorize(color, t.styles[i], c)
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

// colGap is the space between columns (the renderer's right padding).
const colGap = 2

// fitted returns the headers and sanitized rows to print, narrowed by the
// Fit steps when a width was set.
func (t *Table) fitted() ([]string, [][]string) {
	headers := slices.Clone(t.headers)
	rows := make([][]string, len(t.rows))
	for i, row := range t.rows {
		rows[i] = make([]string, len(row))
		for j, c := range row {
			// Control characters in names would break the layout or the
			// terminal; show them escaped instead.
			rows[i][j] = sanitize(c)
		}
	}
	if t.maxWidth <= 0 {
		return headers, rows
	}
	shrink := ""
	if t.shrinkCol >= 0 {
		shrink = t.headers[t.shrinkCol]
	}
	for _, st := range t.steps {
		if tableWidth(headers, rows) <= t.maxWidth {
			break
		}
		c := slices.Index(headers, st.col)
		if c < 0 {
			continue
		}
		if st.shorten != nil {
			for _, row := range rows {
				row[c] = st.shorten(row[c])
			}
			continue
		}
		headers = slices.Delete(headers, c, c+1)
		for i, row := range rows {
			rows[i] = slices.Delete(row, c, c+1)
		}
	}
	if c := slices.Index(headers, shrink); c >= 0 {
		if over := tableWidth(headers, rows) - t.maxWidth; over > 0 {
			widths := colWidths(headers, rows)
			limit := max(widths[c]-over, t.shrinkMin, twwidth.Width(headers[c]))
			for _, row := range rows {
				row[c] = cutWidth(row[c], limit)
			}
		}
	}
	return headers, rows
}

func colWidths(headers []string, rows [][]string) []int {
	w := make([]int, len(headers))
	for i, h := range headers {
		w[i] = twwidth.Width(h)
	}
	for _, row := range rows {
		for i, c := range row {
			if i < len(w) {
				w[i] = max(w[i], twwidth.Width(c))
			}
		}
	}
	return w
}

// tableWidth is the width of the widest line Render would print.
func tableWidth(headers []string, rows [][]string) int {
	n := 0
	for _, w := range colWidths(headers, rows) {
		n += w
	}
	return n + colGap*max(len(headers)-1, 0)
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
