package token

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
)

func TestReadIDs(t *testing.T) {
	const a, b = "01jd8k2m4n5p6q7r8s9t0v1w2x", "01jd8k2m4n5p6q7r8s9t0v1w2y"
	tests := []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{"one a line", a + "\n" + b + "\n", []string{a, b}, ""},
		{"first field only, tabs and spaces", "  " + a + "\tci-one  2026-11-23\n" + b + " x\n", []string{a, b}, ""},
		{"comments and blank lines skipped", "# header\n\n   \n" + a + "\n  # indented comment\n", []string{a}, ""},
		{"no trailing newline, CRLF", a + "\r\n" + b, []string{a, b}, ""},
		{"table header is garbage", "ID NAME\n" + a + "\n", nil, "stdin line 1"},
		{"upper-case id is lower-cased", strings.ToUpper(a) + "\n", []string{a}, ""},
		{"garbage names its line", a + "\n\nnope\n", nil, `stdin line 3: "nope"`},
		{"empty input", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readIDs(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("readIDs = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// FuzzReadIDs: whatever arrives on stdin, readIDs returns only well-formed
// ids or a one-line usage error, and never panics.
func FuzzReadIDs(f *testing.F) {
	f.Add("01jd8k2m4n5p6q7r8s9t0v1w2x\n# c\n\n")
	f.Add("DROP TABLE tokens;\x00\xff")
	f.Add(strings.Repeat("a", 70000))
	f.Fuzz(func(t *testing.T, in string) {
		ids, err := readIDs(strings.NewReader(in))
		if err != nil {
			var ue *cmdutil.UsageError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not a one-line usage error", err)
			}
			return
		}
		for _, id := range ids {
			if !api.ValidID(id) || id != strings.ToLower(id) {
				t.Fatalf("returned malformed id %q", id)
			}
		}
	})
}
