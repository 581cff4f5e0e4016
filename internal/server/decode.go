package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
)

// decode reads exactly one JSON value of type T from a request body with
// Content-Type application/json, refusing unknown fields. Every failure is
// a 4xx problem whose detail says what to fix.
func decode[T any](r *http.Request) (T, *problem) {
	var v T
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return v, newProblem(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia,
			"missing Content-Type; send the body as application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return v, newProblem(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia,
			fmt.Sprintf("Content-Type %q is not supported; send the body as application/json", truncate(ct, 100)))
	}
	return decodeJSON[T](r.Body)
}

func decodeJSON[T any](body io.Reader) (T, *problem) {
	var v T
	// Read it all (the body limit bounds it) so invalid UTF-8 can be
	// refused: the JSON decoder would silently turn it into U+FFFD.
	raw, err := io.ReadAll(body)
	if err != nil {
		if p := sizeProblem(err); p != nil {
			return v, p
		}
		return v, newProblem(http.StatusBadRequest, api.CodeInvalidJSON, "could not read the request body")
	}
	if !utf8.Valid(raw) {
		return v, newProblem(http.StatusBadRequest, api.CodeInvalidJSON, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonProblem(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			// Trailing garbage after the value, or the size limit hit.
			if p := sizeProblem(err); p != nil {
				return v, p
			}
		}
		return v, newProblem(http.StatusBadRequest, api.CodeInvalidJSON,
			"the body must hold exactly one JSON value; found data after it")
	}
	return v, nil
}

func sizeProblem(err error) *problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return newProblem(http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	}
	return nil
}

func jsonProblem(err error) *problem {
	if p := sizeProblem(err); p != nil {
		return p
	}
	bad := func(detail string) *problem {
		return newProblem(http.StatusBadRequest, api.CodeInvalidJSON, detail)
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var perr *time.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return bad("the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("the JSON body is truncated")
	case errors.As(err, &syn):
		return bad(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return bad(fmt.Sprintf("the body must be a JSON object, not %s", typ.Value))
		}
		return bad(fmt.Sprintf("field %q must be %s, not %s", field, jsonKind(typ.Type.String()), typ.Value))
	case errors.As(err, &perr):
		return bad("expires_at must be an RFC 3339 date-time such as 2026-12-31T23:59:59Z")
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return bad("unknown field " + rest + "; see docs/openapi.yaml for the accepted fields")
	}
	// Anything else the decoder rejects is still the client's JSON.
	return bad("invalid JSON: " + truncate(strings.TrimPrefix(msg, "json: "), 200))
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "an integer"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.Contains(goType, "Time"):
		return "an RFC 3339 date-time string"
	default:
		return "a " + goType
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
