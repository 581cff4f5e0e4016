package output

import (
	"bytes"
	"strings"
	"testing"
)

func sampleTable() *Table {
	tbl := NewTable("ID", "NAME", "EXPIRES")
	tbl.AddRow(StylePlain, "01aaa", "deploy", "2026-12-01 (in 8d)")
	tbl.AddRow(StyleAlert, "01bbb", "old-ci-token", "2026-11-20 (expired 3d ago)")
	return tbl
}

func TestTableWithoutColorHasNoEscapes(t *testing.T) {
	var out bytes.Buffer
	if err := sampleTable().Render(&out, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID     NAME          EXPIRES\n" +
		"01aaa  deploy        2026-12-01 (in 8d)\n" +
		"01bbb  old-ci-token  2026-11-20 (expired 3d ago)\n"
	if out.String() != want {
		t.Fatalf("table:\n%q\nwant:\n%q", out.String(), want)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Fatal("escape sequence in uncoloured table")
	}
}

func TestTableWithColorMarksStyledRows(t *testing.T) {
	var out bytes.Buffer
	if err := sampleTable().Render(&out, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "\x1b[1mID") {
		t.Errorf("header is not bold: %q", lines[0])
	}
	if strings.Contains(lines[1], "\x1b[31m") {
		t.Errorf("plain row is red: %q", lines[1])
	}
	if !strings.Contains(lines[2], "\x1b[31mold-ci-token") {
		t.Errorf("alert row is not red: %q", lines[2])
	}
	// Colour must not shift columns: with escapes stripped the layout is
	// the same as the uncoloured one.
	var plain bytes.Buffer
	_ = sampleTable().Render(&plain, false)
	if got := stripANSI(out.String()); got != plain.String() {
		t.Errorf("coloured layout differs:\n%q\nwant\n%q", got, plain.String())
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	tbl := NewTable("NAME")
	tbl.AddRow(StylePlain, "evil\x1b[2Jname\nnext")
	var out bytes.Buffer
	if err := tbl.Render(&out, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("control characters leaked: %q", out.String())
	}
	if !strings.Contains(out.String(), `evil\x1b[2Jname\x0anext`) {
		t.Fatalf("control characters not shown escaped: %q", out.String())
	}
}

func TestCSV(t *testing.T) {
	var out bytes.Buffer
	w, err := NewCSV(&out, "id", "name")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{{"01a", "plain"}, {"01b", "with, comma"}, {"01c", "=HYPERLINK(\"x\")"}, {"01d", "-5"}} {
		if err := w.Write(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "id,name\n01a,plain\n01b,\"with, comma\"\n01c,\"'=HYPERLINK(\"\"x\"\")\"\n01d,'-5\n"
	if out.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestColorize(t *testing.T) {
	if got := Colorize(false, StyleAlert, "x"); got != "x" {
		t.Errorf("Colorize off = %q", got)
	}
	if got := Colorize(true, StyleAlert, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Errorf("Colorize on = %q", got)
	}
	if got := Colorize(true, StylePlain, "x"); got != "x" {
		t.Errorf("Colorize plain = %q", got)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestTableFit(t *testing.T) {
	render := func(width int) string {
		tbl := NewTable("ID", "NAME", "KEY", "EXPIRES")
		tbl.AddRow(StylePlain, "01aaa", "a-rather-long-token-name", "tkn_ab…yz", "2026-12-01 00:00 UTC (in 8d)")
		tbl.Fit(width, "NAME", 6, Drop("KEY"), Shorten("EXPIRES", func(s string) string { return strings.TrimSuffix(s[strings.LastIndex(s, "(")+1:], ")") }))
		var out bytes.Buffer
		if err := tbl.Render(&out, false); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, tc := range []struct {
		width int
		want  string
	}{
		{0, "ID     NAME                      KEY        EXPIRES\n01aaa  a-rather-long-token-name  tkn_ab…yz  2026-12-01 00:00 UTC (in 8d)\n"},
		{80, "ID     NAME                      KEY        EXPIRES\n01aaa  a-rather-long-token-name  tkn_ab…yz  2026-12-01 00:00 UTC (in 8d)\n"},
		{70, "ID     NAME                      EXPIRES\n01aaa  a-rather-long-token-name  2026-12-01 00:00 UTC (in 8d)\n"},
		{40, "ID     NAME                      EXPIRES\n01aaa  a-rather-long-token-name  in 8d\n"},
		{30, "ID     NAME            EXPIRES\n01aaa  a-rather-long…  in 8d\n"},
		// The name is never cut below its minimum: the table overflows.
		{10, "ID     NAME    EXPIRES\n01aaa  a-rat…  in 8d\n"},
	} {
		if got := render(tc.width); got != tc.want {
			t.Errorf("width %d:\n%s\nwant:\n%s", tc.width, got, tc.want)
		}
	}
}
