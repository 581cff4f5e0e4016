package tokend

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
)

// secretFlag is a flag naming a file that holds one secret ("-": stdin),
// since a secret on the command line would show in ps and shell history.
// The words are each flag's own so its errors say what belongs in it.
type secretFlag struct {
	flag    string // "--secret-file"
	max     int    // bytes the file may hold
	secret  string // what it holds, in "it should hold only the secret"
	fill    string // what to put in an empty one
	readErr string // prefix of a read failure
}

// read reads the secret from path, trimmed of surrounding white space.
// Errors never quote the file's content.
func (sf secretFlag) read(e *env, path string) (string, error) {
	var r io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", usageErrorf("%s: %s", sf.flag, strings.TrimPrefix(err.Error(), "open "))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(sf.max)+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", sf.readErr, err)
	}
	s := strings.TrimSpace(string(b))
	switch {
	case len(b) > sf.max:
		return "", usageErrorf("%s holds more than %d bytes; it should hold only %s", sf.flag, sf.max, sf.secret)
	case s == "":
		return "", usageErrorf("%s is empty; put %s in it", sf.flag, sf.fill)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", usageErrorf("%s holds more than one line; it should hold only %s", sf.flag, sf.secret)
	}
	return s, nil
}
