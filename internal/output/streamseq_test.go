package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
)

// seqOf yields 1..n, then err when it is not nil.
func seqOf(n int, err error) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(i, nil) {
				return
			}
		}
		if err != nil {
			yield(0, err)
		}
	}
}

func wrapList(err error) error { return fmt.Errorf("list: %w", err) }

func TestStreamJSONStaysValidWhenTheSourceFails(t *testing.T) {
	boom := errors.New("boom")
	var b bytes.Buffer
	n, err := StreamJSON(&b, seqOf(2, boom), wrapList)
	if n != 2 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "list: ") {
		t.Fatalf("n=%d err=%v", n, err)
	}
	var got []int
	if err := json.Unmarshal(b.Bytes(), &got); err != nil || len(got) != 2 {
		t.Fatalf("output %q is not the two items: %v", b.String(), err)
	}
	b.Reset()
	if n, err = StreamJSON(&b, seqOf(0, nil), wrapList); n != 0 || err != nil || b.String() != "[]\n" {
		t.Fatalf("empty: n=%d err=%v %q", n, err, b.String())
	}
}

func TestStreamCSVWritesTheHeaderWithTheFirstRecord(t *testing.T) {
	rec := func(i int) []string { return []string{fmt.Sprint(i)} }
	var b bytes.Buffer
	n, err := StreamCSV(&b, []string{"n"}, seqOf(2, nil), rec, wrapList)
	if n != 2 || err != nil || b.String() != "n\n1\n2\n" {
		t.Fatalf("n=%d err=%v %q", n, err, b.String())
	}
	b.Reset()
	boom := errors.New("boom")
	if n, err = StreamCSV(&b, []string{"n"}, seqOf(0, boom), rec, wrapList); n != 0 || !errors.Is(err, boom) || b.Len() != 0 {
		t.Fatalf("failing at once: n=%d err=%v %q", n, err, b.String())
	}
	b.Reset()
	if n, err = StreamCSV(&b, []string{"n"}, seqOf(1, boom), rec, wrapList); n != 1 || !errors.Is(err, boom) || b.String() != "n\n1\n" {
		t.Fatalf("failing after one: n=%d err=%v %q", n, err, b.String())
	}
}
