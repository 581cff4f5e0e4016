package server

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/text"
)

// pageQuery parses a listing's query string and its limit (default
// api.DefaultPageSize, at most api.MaxPageSize).
func pageQuery(r *http.Request) (url.Values, int, *problem) {
	bad := func(format string, a ...any) (url.Values, int, *problem) {
		return nil, 0, newProblem(http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf(format, a...))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return bad("the query string is malformed: %s", text.Truncate(err.Error(), 100))
	}
	limit := api.DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > api.MaxPageSize {
			return bad("limit must be an integer from 1 to %d", api.MaxPageSize)
		}
		limit = n
	}
	return q, limit, nil
}

// minScan is the fewest rows a filtered page examines.
const minScan = 1000

// Cursors are opaque to clients; today they carry the last id of a page.
const cursorVersion = "v1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + id))
}

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(string(b), cursorVersion)
	if !ok || !api.ValidID(id) {
		return "", false
	}
	return id, true
}
