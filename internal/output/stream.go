package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
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

// StreamJSON writes every item of seq into one JSON array as it arrives
// and returns how many it wrote. An error from seq closes the array (what
// was printed stays valid JSON) and comes back through wrap.
func StreamJSON[T any](w io.Writer, seq iter.Seq2[T, error], wrap func(error) error) (int, error) {
	arr := NewJSONArray(w)
	for v, err := range seq {
		if err != nil {
			arr.Close()
			return arr.Len(), wrap(err)
		}
		if err := arr.Add(v); err != nil {
			return arr.Len(), err
		}
	}
	return arr.Len(), arr.Close()
}

// StreamCSV writes header and then record(item) for every item of seq as
// it arrives, and returns how many. The header goes out with the first
// item, so a listing that fails at once or finds nothing prints nothing.
// An error from seq flushes what was written and comes back through wrap.
func StreamCSV[T any](w io.Writer, header []string, seq iter.Seq2[T, error], record func(T) []string, wrap func(error) error) (int, error) {
	var c *CSV
	n := 0
	for v, err := range seq {
		if err != nil {
			if c != nil {
				c.Flush()
			}
			return n, wrap(err)
		}
		if c == nil {
			if c, err = NewCSV(w, header...); err != nil {
				return n, err
			}
		}
		if err := c.Write(record(v)...); err != nil {
			return n, err
		}
		n++
	}
	if c == nil {
		return 0, nil
	}
	return n, c.Flush()
}
