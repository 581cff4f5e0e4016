package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type item struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	When    time.Time  `json:"when"`
	Last    *time.Time `json:"last"`
	Count   int        `json:"count"`
	Comment string     `json:"comment"`
}

var when = time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)

var items = []item{
	{ID: "a1", Name: "ci-one", When: when, Count: 1, Comment: "<b>&</b>"},
	{ID: "b2", Name: "deploy", When: when.Add(time.Hour), Last: &when, Count: 2},
}

func TestExporterValidate(t *testing.T) {
	allowed := []string{FormatTable, FormatJSON, FormatYAML, FormatCSV}
	tests := []struct {
		name    string
		e       Exporter
		wantErr string
	}{
		{"default format is accepted", Exporter{}, ""},
		{"json is accepted", Exporter{Format: "json"}, ""},
		{"unknown format is rejected with the choices", Exporter{Format: "xml"}, `unknown output format "xml": use one of table, json, yaml, csv`},
		{"jq and template together are rejected", Exporter{JQ: ".", Template: "x"}, "cannot be used together"},
		{"jq with csv is rejected", Exporter{Format: "csv", JQ: "."}, "cannot be combined with -o csv"},
		{"jq with explicit json is fine", Exporter{Format: "json", JQ: ".[]"}, ""},
		{"jq syntax error is one line", Exporter{JQ: ".[ | foo"}, "invalid --jq expression"},
		{"template syntax error is one line", Exporter{Template: "{{ .x "}, "invalid --template"},
		{"jq with undefined function is rejected before running", Exporter{JQ: "nosuchfunc"}, "invalid --jq expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.def, e.allowed = FormatTable, allowed
			err := e.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestExporterKind(t *testing.T) {
	tests := []struct {
		e    Exporter
		want Kind
	}{
		{Exporter{def: FormatTable}, KindDefault},
		{Exporter{Format: FormatTable}, KindDefault},
		{Exporter{Format: FormatJSON}, KindJSON},
		{Exporter{Format: FormatYAML}, KindYAML},
		{Exporter{Format: FormatCSV}, KindCSV},
		{Exporter{Format: FormatEnv}, KindEnv},
		{Exporter{Format: FormatDotenv}, KindDotenv},
		{Exporter{Format: FormatTable, JQ: "."}, KindJQ},
		{Exporter{Format: FormatJSON, Template: "x"}, KindTemplate},
	}
	for _, tt := range tests {
		if got := tt.e.Kind(); got != tt.want {
			t.Errorf("%+v: Kind() = %v, want %v", tt.e, got, tt.want)
		}
	}
}

func run(t *testing.T, e Exporter, v any, pretty bool) string {
	t.Helper()
	e.def = FormatTable
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := e.Write(&out, v, pretty); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestJQ(t *testing.T) {
	tests := []struct {
		name   string
		expr   string
		pretty bool
		want   string
	}{
		{"string results print raw, one a line", ".[].name", false, "ci-one\ndeploy\n"},
		{"numbers print as JSON", ".[].count", false, "1\n2\n"},
		{"objects are compact off a terminal", ".[0] | {id, count}", false, `{"count":1,"id":"a1"}` + "\n"},
		{"objects are indented on a terminal", ".[0] | {id}", true, "{\n  \"id\": \"a1\"\n}\n"},
		{"null last_used is visible as null", ".[0].last", false, "null\n"},
		{"times are RFC 3339 strings", ".[1].when", false, "2026-11-23T16:04:05Z\n"},
		{"select filters", `.[] | select(.count > 1) | .id`, false, "b2\n"},
		{"length of the array", "length", false, "2\n"},
		{"empty output prints nothing", ".[] | select(.count > 5)", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, Exporter{JQ: tt.expr}, items, tt.pretty)
			if got != tt.want {
				t.Fatalf("--jq %q = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestJQRuntimeErrorIsOneLine(t *testing.T) {
	e := Exporter{JQ: ".[] | .name + 1", def: FormatTable}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	err := e.Write(&bytes.Buffer{}, items, false)
	if err == nil || !strings.HasPrefix(err.Error(), "--jq: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Write() = %v, want a one-line --jq error", err)
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		name, tmpl, want string
	}{
		{"fields use JSON names", `{{range .}}{{.id}} {{.name}}{{"\n"}}{{end}}`, "a1 ci-one\nb2 deploy\n"},
		{"date helper formats RFC 3339", `{{(index . 0).when | date}}`, "2026-11-23"},
		{"json helper", `{{(index . 1).count | json}}`, "2"},
		{"upper and truncate", `{{(index . 0).name | upper}} {{truncate 3 (index . 1).name}}`, "CI-ONE de…"},
		{"missing field is empty", `[{{(index . 0).nope}}]`, "[<no value>]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, Exporter{Template: tt.tmpl}, items, false)
			if got != tt.want {
				t.Fatalf("--template %q = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestJSONArrayMatchesWholeDocument(t *testing.T) {
	tests := []struct {
		name string
		in   []item
	}{
		{"empty list is []", nil},
		{"one item", items[:1]},
		{"several items", items},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var streamed, whole bytes.Buffer
			a := NewJSONArray(&streamed)
			for _, it := range tt.in {
				if err := a.Add(it); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			all := tt.in
			if all == nil {
				all = []item{}
			}
			if err := WriteJSON(&whole, all); err != nil {
				t.Fatal(err)
			}
			if streamed.String() != whole.String() {
				t.Fatalf("streamed:\n%s\nwhole:\n%s", streamed.String(), whole.String())
			}
			var back []item
			if err := json.Unmarshal(streamed.Bytes(), &back); err != nil {
				t.Fatalf("streamed output is not JSON: %v", err)
			}
			if len(back) != len(tt.in) {
				t.Fatalf("decoded %d items, want %d", len(back), len(tt.in))
			}
		})
	}
}

func TestJSONLeavesHTMLCharactersAlone(t *testing.T) {
	var out bytes.Buffer
	a := NewJSONArray(&out)
	_ = a.Add(items[0])
	_ = a.Close()
	if !strings.Contains(out.String(), `"<b>&</b>"`) {
		t.Fatalf("HTML characters were escaped: %s", out.String())
	}
}

func TestYAMLKeepsJSONNamesAndOrder(t *testing.T) {
	var out bytes.Buffer
	if err := WriteYAML(&out, items[:1]); err != nil {
		t.Fatal(err)
	}
	want := "- id: a1\n  name: ci-one\n  when: \"2026-11-23T15:04:05Z\"\n  last: null\n  count: 1\n  comment: <b>&</b>\n"
	if out.String() != want {
		t.Fatalf("yaml:\n%s\nwant:\n%s", out.String(), want)
	}
}
