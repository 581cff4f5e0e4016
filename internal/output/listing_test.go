package output

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

type fruit struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type term struct{ tty bool }

func (t term) IsStdoutTTY() bool  { return t.tty }
func (t term) TerminalWidth() int { return 12 }
func (t term) ColorEnabled() bool { return false }

func fruits(err error, items ...fruit) iter.Seq2[fruit, error] {
	return func(yield func(fruit, error) bool) {
		for _, f := range items {
			if !yield(f, nil) {
				return
			}
		}
		if err != nil {
			yield(fruit{}, err)
		}
	}
}

var fruitListing = Listing[fruit]{
	Header: []string{"NAME", "COUNT"},
	Row: func(f fruit) (Style, []string) {
		return StylePlain, []string{f.Name, fmt.Sprint(f.Count)}
	},
	Fit:       func(t *Table, width int) { t.Fit(width, "NAME", 4, Drop("COUNT")) },
	CSVHeader: []string{"name", "count"},
	CSVRecord: func(f fruit) []string { return []string{f.Name, fmt.Sprint(f.Count)} },
	Wrap:      func(err error) error { return fmt.Errorf("list fruit: %w", err) },
}

// exporter parses flags as a command would.
func exporter(t *testing.T, args ...string) *Exporter {
	t.Helper()
	e := &Exporter{}
	cmd := &cobra.Command{Use: "x"}
	AddFlags(cmd, e, FormatTable, []string{FormatTable, FormatJSON, FormatYAML, FormatCSV}, true)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

// One renderer for any row type: every format from the same Listing.
func TestListPrintsEveryFormat(t *testing.T) {
	items := []fruit{{"apple", 3}, {"banana", 12}}
	for _, c := range []struct {
		args []string
		tty  bool
		want string
	}{
		{nil, false, "NAME    COUNT\napple   3\nbanana  12\n"},
		{nil, true, "NAME\napple\nbanana\n"}, // fitted to 12 columns
		{[]string{"-o", "json"}, false, "[\n  {\n    \"name\": \"apple\",\n    \"count\": 3\n  },\n  {\n    \"name\": \"banana\",\n    \"count\": 12\n  }\n]\n"},
		{[]string{"-o", "csv"}, false, "name,count\napple,3\nbanana,12\n"},
		{[]string{"-o", "yaml"}, false, "- name: apple\n  count: 3\n- name: banana\n  count: 12\n"},
		{[]string{"--jq", ".[].name"}, false, "apple\nbanana\n"},
		{[]string{"--template", "{{range .}}{{.name}}={{.count}};{{end}}"}, false, "apple=3;banana=12;"},
	} {
		var out bytes.Buffer
		n, err := List(&out, term{c.tty}, exporter(t, c.args...), fruits(nil, items...), fruitListing)
		if err != nil || n != 2 || out.String() != c.want {
			t.Errorf("%v (tty %v): n=%d err=%v\n got %q\nwant %q", c.args, c.tty, n, err, out.String(), c.want)
		}
	}
}

func TestListEmpty(t *testing.T) {
	for args, want := range map[string]string{"": "", "-o json": "[]\n", "-o yaml": "[]\n", "-o csv": "", "--jq length": "0\n"} {
		var out bytes.Buffer
		n, err := List(&out, term{}, exporter(t, strings.Fields(args)...), fruits(nil), fruitListing)
		if err != nil || n != 0 || out.String() != want {
			t.Errorf("%q: n=%d err=%v out %q, want %q", args, n, err, out.String(), want)
		}
	}
}

// An error part way is wrapped with the listing's context in every format;
// what streamed before it stays valid.
func TestListErrorIsWrapped(t *testing.T) {
	boom := errors.New("connection reset")
	for _, args := range []string{"", "-o json", "-o csv", "-o yaml", "--jq .[]"} {
		var out bytes.Buffer
		_, err := List(&out, term{}, exporter(t, strings.Fields(args)...), fruits(boom, fruit{"apple", 1}), fruitListing)
		if !errors.Is(err, boom) || err.Error() != "list fruit: connection reset" {
			t.Errorf("%q: err %v", args, err)
		}
	}
}
