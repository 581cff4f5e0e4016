package output

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// templateFuncs are the helpers --template offers on top of text/template.
// Data reaches templates in its JSON form, so times are RFC 3339 strings;
// timeago and date accept those.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join": func(sep string, v any) string {
			list, _ := v.([]any)
			parts := make([]string, len(list))
			for i, e := range list {
				parts[i] = fmt.Sprint(e)
			}
			return strings.Join(parts, sep)
		},
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"truncate": func(n int, s string) string {
			if n <= 0 {
				return s
			}
			return text.Truncate(s, n)
		},
		// timeago renders an RFC 3339 time relative to now ("in 29d", "3d ago").
		"timeago": func(v any) string {
			t, ok := parseTime(v)
			if !ok {
				return ""
			}
			return timespec.Relative(t, time.Now(), false)
		},
		// date renders an RFC 3339 time as YYYY-MM-DD in UTC.
		"date": func(v any) string {
			t, ok := parseTime(v)
			if !ok {
				return ""
			}
			return t.UTC().Format(time.DateOnly)
		},
	}
}

func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
