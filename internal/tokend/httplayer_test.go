package tokend

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

// Requests net/http refuses before routing, and OPTIONS *, still get a
// problem+json answer with X-Request-Id from a real tokend serve.
func TestHTTPLayerRefusalsAreProblems(t *testing.T) {
	db := newDB(t, filepath.Join(t.TempDir(), "raw.db"))
	url, _, stop := startServe(t, "--database", db)
	defer stop()
	addr := strings.TrimPrefix(url, "http://")
	tests := []struct {
		name, raw string
		status    int
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400},
		{"duplicate Content-Length", "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
		{"negative Content-Length", "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"control byte in a header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400},
		{"missing Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431},
		{"unknown Transfer-Encoding", "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"TRACE", "TRACE /v1/tokens HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"oversized body on /healthz", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte(tt.raw)); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != api.ProblemContentType {
				t.Fatalf("Content-Type %q, want %s", ct, api.ProblemContentType)
			}
			var p api.Problem
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				t.Fatalf("body is not a problem: %v", err)
			}
			if p.Status != tt.status || p.Code == "" || p.Detail == "" || p.RequestID == "" || p.RequestID != res.Header.Get("X-Request-Id") {
				t.Errorf("incomplete problem %+v (X-Request-Id %q)", p, res.Header.Get("X-Request-Id"))
			}
		})
	}
}
