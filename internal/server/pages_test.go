package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A page's own log lines carry the id its access line and X-Request-Id
// carry, so an operator can tie a warning to its request.
func TestPageLoggerCarriesTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h := Pages(Config{}, logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		PageLogger(logger, r).Warn("page trouble")
		w.WriteHeader(http.StatusTeapot)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/some/page", nil))
	id := rec.Header().Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "page trouble" {
			found = true
			if rec["request_id"] != id {
				t.Fatalf("warning's request_id %v, response's %q", rec["request_id"], id)
			}
		}
	}
	if !found {
		t.Fatalf("no warning in the log:\n%s", buf.String())
	}
}
