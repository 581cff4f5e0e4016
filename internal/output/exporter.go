// Package output prints command results the same way for every tokenctl
// command: aligned tables for people, and JSON, YAML, CSV, --jq and
// --template for scripts. Commands describe their data; this package owns
// the formats, so `-o json` or `--jq` behave identically everywhere.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/text"
)

// Formats a command may accept for -o.
const (
	FormatTable  = "table"
	FormatText   = "text"
	FormatJSON   = "json"
	FormatYAML   = "yaml"
	FormatCSV    = "csv"
	FormatEnv    = "env"
	FormatDotenv = "dotenv"
)

// Exporter holds a command's -o, --jq and --template choices. Register it
// with AddFlags, call Validate before any request (bad expressions are
// usage errors that cost nothing), then ask Kind how to print.
type Exporter struct {
	Format   string
	JQ       string
	Template string

	def     string
	allowed []string
	jq      *gojq.Code
	tmpl    *template.Template
}

// Kind is what an Exporter ends up printing.
type Kind int

const (
	KindDefault  Kind = iota // the command's own human format (table, text block)
	KindJSON                 // JSON document
	KindYAML                 // YAML document
	KindCSV                  // CSV with a header row
	KindJQ                   // JSON fed through --jq
	KindTemplate             // JSON-shaped data fed through --template
	KindEnv                  // NAME='value' lines for eval
	KindDotenv               // NAME=value lines for .env / $GITHUB_ENV
)

// AddFlags registers -o/--output (with the given default and allowed values)
// and, when withQuery is true, --jq and --template.
func AddFlags(cmd *cobra.Command, e *Exporter, def string, allowed []string, withQuery bool) {
	e.def = def
	e.allowed = allowed
	cmd.Flags().StringVarP(&e.Format, "output", "o", def, "output `FORMAT`: "+strings.Join(allowed, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allowed, cobra.ShellCompDirectiveNoFileComp
	})
	if withQuery {
		cmd.Flags().StringVar(&e.JQ, "jq", "", "apply the jq `EXPR` to the JSON output")
		cmd.Flags().StringVarP(&e.Template, "template", "t", "", "render the JSON output with the Go `TEMPLATE`")
	}
}

// Validate checks the flag values and compiles --jq and --template. Its
// errors are one line, fit for a usage error.
func (e *Exporter) Validate() error {
	if e.Format == "" {
		e.Format = e.def
	}
	if len(e.allowed) > 0 && !slices.Contains(e.allowed, e.Format) {
		return fmt.Errorf("unknown output format %q: use one of %s", e.Format, strings.Join(e.allowed, ", "))
	}
	if e.JQ != "" && e.Template != "" {
		return fmt.Errorf("--jq and --template cannot be used together")
	}
	if (e.JQ != "" || e.Template != "") && e.Format != e.def && e.Format != FormatJSON {
		return fmt.Errorf("--jq and --template work on JSON and cannot be combined with -o %s", e.Format)
	}
	if e.JQ != "" {
		q, err := gojq.Parse(e.JQ)
		if err != nil {
			return fmt.Errorf("invalid --jq expression: %s", text.OneLine(err.Error()))
		}
		code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
		if err != nil {
			return fmt.Errorf("invalid --jq expression: %s", text.OneLine(err.Error()))
		}
		e.jq = code
	}
	if e.Template != "" {
		t, err := template.New("output").Option("missingkey=zero").Funcs(templateFuncs()).Parse(e.Template)
		if err != nil {
			return fmt.Errorf("invalid --template: %s", text.OneLine(err.Error()))
		}
		e.tmpl = t
	}
	return nil
}

// Kind reports what to print. --jq and --template imply JSON input.
func (e *Exporter) Kind() Kind {
	switch {
	case e.JQ != "":
		return KindJQ
	case e.Template != "":
		return KindTemplate
	}
	f := e.Format
	if f == "" {
		f = e.def
	}
	switch f {
	case FormatJSON:
		return KindJSON
	case FormatYAML:
		return KindYAML
	case FormatCSV:
		return KindCSV
	case FormatEnv:
		return KindEnv
	case FormatDotenv:
		return KindDotenv
	}
	return KindDefault
}

// Structured reports whether the whole value is printed as data (JSON, YAML,
// jq or template), as opposed to the command's own layout or CSV.
func (e *Exporter) Structured() bool {
	switch e.Kind() {
	case KindJSON, KindYAML, KindJQ, KindTemplate:
		return true
	}
	return false
}

// Write prints v (any value that marshals to JSON) in the structured format
// chosen. pretty indents jq results that are not strings (set it when stdout
// is a terminal, as jq and gh do; scripts get one compact value a line).
func (e *Exporter) Write(w io.Writer, v any, pretty bool) error {
	switch e.Kind() {
	case KindJSON:
		return WriteJSON(w, v)
	case KindYAML:
		return WriteYAML(w, v)
	case KindJQ:
		return e.writeJQ(w, v, pretty)
	case KindTemplate:
		return e.writeTemplate(w, v)
	}
	return fmt.Errorf("output format %q cannot print this value", e.Format)
}

// WriteJSON prints v as indented JSON and a newline. HTML characters are
// left alone: this is for terminals and jq, not for browsers.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// generic turns v into the plain maps, slices and scalars its JSON form
// decodes to, so jq and templates see exactly the documented JSON fields.
func generic(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return normalizeNumbers(out), nil
}

// normalizeNumbers turns json.Number into int or float64, the types gojq
// understands.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func (e *Exporter) writeJQ(w io.Writer, v any, pretty bool) error {
	in, err := generic(v)
	if err != nil {
		return err
	}
	iter := e.jq.Run(in)
	for {
		r, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := r.(error); ok {
			if he, ok := err.(*gojq.HaltError); ok && he.Value() == nil {
				return nil
			}
			return fmt.Errorf("--jq: %s", text.OneLine(err.Error()))
		}
		// String results print raw, one a line, so `--jq '.[].id'` feeds
		// xargs and while-read loops without quotes.
		if s, ok := r.(string); ok {
			if _, err := io.WriteString(w, s+"\n"); err != nil {
				return err
			}
			continue
		}
		var b []byte
		if pretty {
			b, err = gojq.Marshal(r)
			if err == nil {
				var buf bytes.Buffer
				if json.Indent(&buf, b, "", "  ") == nil {
					b = buf.Bytes()
				}
			}
		} else {
			b, err = gojq.Marshal(r)
		}
		if err != nil {
			return fmt.Errorf("--jq: %s", text.OneLine(err.Error()))
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
}

func (e *Exporter) writeTemplate(w io.Writer, v any) error {
	in, err := generic(v)
	if err != nil {
		return err
	}
	if err := e.tmpl.Execute(w, in); err != nil {
		return fmt.Errorf("--template: %s", text.OneLine(err.Error()))
	}
	return nil
}
