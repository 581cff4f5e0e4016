package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/tokenctl/tokenctl/internal/api"
)

// net/http answers some requests itself, before any handler runs (a
// malformed request line, a bad Content-Length, a control byte in a header,
// headers over MaxHeaderBytes, an unknown Transfer-Encoding, a foreign HTTP
// version), in plain text and with no hook to change that. It writes each
// such answer in one Write straight to the connection, always with these
// headers, which no tokend handler ever sends.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// ProblemListener wraps a plain-HTTP listener so that those answers go out
// as problem+json with an X-Request-Id, like every other error. (Over TLS
// the bytes are encrypted before they reach the listener's connections, so
// there it changes nothing.)
func ProblemListener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

type problemConn struct{ net.Conn }

func (c *problemConn) Write(b []byte) (int, error) {
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) || !bytes.Contains(b, []byte(netHTTPErrorHeaders)) {
		return c.Conn.Write(b)
	}
	status, err := strconv.Atoi(string(b[9:min(12, len(b))]))
	if err != nil {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(httpLayerProblem(status)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// httpLayerProblem is the whole response for a request net/http refused.
// Nothing of the request is quoted: it never reached a parser that could
// tell a secret from the rest.
func httpLayerProblem(status int) []byte {
	detail := "the request is not valid HTTP/1.1 (request line, Content-Length, Host or a header with a control byte); fix the client"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		detail = "the request headers are too large; send fewer or shorter headers"
	case http.StatusNotImplemented:
		detail = "the Transfer-Encoding is not supported; send the body with Content-Length or chunked"
	case http.StatusHTTPVersionNotSupported:
		detail = "the HTTP version is not supported; use HTTP/1.1"
	}
	id := newRequestID()
	body, _ := json.Marshal(api.Problem{
		Type:      ProblemTypeBase + api.CodeBadRequest,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Code:      api.CodeBadRequest,
		RequestID: id,
	})
	body = append(body, '\n')
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), api.ProblemContentType, id, len(body))
	return append([]byte(head), body...)
}
