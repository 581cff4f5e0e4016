package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// JSONArray writes a JSON array one element at a time, so a listing of any
// length is printed with one element in memory. Its output is the same as
// WriteJSON of the whole slice.
type JSONArray struct {
	w   *bufio.Writer
	buf bytes.Buffer
	n   int
	err error
}

// NewJSONArray starts an array on w. Call Close to finish it.
func NewJSONArray(w io.Writer) *JSONArray {
	return &JSONArray{w: bufio.NewWriterSize(w, 64<<10)}
}

// Add appends one element.
func (a *JSONArray) Add(v any) error {
	if a.err != nil {
		return a.err
	}
	a.buf.Reset()
	enc := json.NewEncoder(&a.buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(v); err != nil {
		a.err = fmt.Errorf("encode output: %w", err)
		return a.err
	}
	b := bytes.TrimSuffix(a.buf.Bytes(), []byte("\n"))
	if a.n == 0 {
		a.w.WriteString("[\n  ")
	} else {
		a.w.WriteString(",\n  ")
	}
	a.n++
	_, a.err = a.w.Write(b)
	return a.err
}

// Len is the number of elements written so far.
func (a *JSONArray) Len() int { return a.n }

// Close ends the array ("[]" when it is empty) and flushes it.
func (a *JSONArray) Close() error {
	if a.err != nil {
		return a.err
	}
	if a.n == 0 {
		a.w.WriteString("[]\n")
	} else {
		a.w.WriteString("\n]\n")
	}
	return a.w.Flush()
}
