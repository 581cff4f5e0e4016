package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/text"
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
			"Content-Type "+quote(ct, 100)+" is not supported; send the body as application/json")
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
	if loneSurrogate(raw) {
		// The decoder would store U+FFFD in its place.
		return v, newProblem(http.StatusBadRequest, api.CodeInvalidJSON,
			"the body holds a lone UTF-16 surrogate escape (such as \\ud800); escape characters outside the BMP as a surrogate pair")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonProblem(err)
	}
	if p := checkShape(raw, fieldNames[T]()); p != nil {
		return v, p
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
	return bad("invalid JSON: " + text.Truncate(strings.TrimPrefix(msg, "json: "), 200))
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

// fieldNames is the set of JSON member names of struct type T.
func fieldNames[T any]() map[string]bool {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil
	}
	names := make(map[string]bool, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	return names
}

// checkShape refuses what encoding/json quietly accepts but the contract
// does not: a body that is not an object (null decodes to all defaults), a
// member given twice or in another case ("name" then "Name": the decoder
// keeps the last and matches case-insensitively, so a proxy reading the
// first would see a different request), and null inside an array. raw has
// already decoded without error. fields nil skips the member check.
func checkShape(raw []byte, fields map[string]bool) *problem {
	bad := func(detail string) *problem {
		return newProblem(http.StatusBadRequest, api.CodeInvalidJSON, detail)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	if fields == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return bad("the body must be a JSON object")
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if seen[strings.ToLower(key)] {
			return bad("field " + quote(key, 100) + " appears twice; send each field once")
		}
		seen[strings.ToLower(key)] = true
		if !fields[key] {
			return bad("unknown field " + quote(key, 100) + " (field names are lower case); see docs/openapi.yaml for the accepted fields")
		}
		if p := checkValue(dec, key); p != nil {
			return p
		}
	}
	return nil
}

// loneSurrogate reports whether raw JSON holds a \uD800-\uDFFF escape that
// is not half of a high-low pair. Backslashes only occur inside strings.
func loneSurrogate(raw []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range raw[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // an escape such as \\ or \": skip the escaped byte
			continue
		}
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low half with no high half before it
		case r >= 0xd800 && r <= 0xdbff:
			low, ok := hex4(i + 6)
			if !ok || low < 0xdc00 || low > 0xdfff {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// checkValue consumes one value of member key, refusing null as the value
// and inside arrays: no request field and no array in the API may hold one.
func checkValue(outer *json.Decoder, key string) *problem {
	var raw json.RawMessage
	if err := outer.Decode(&raw); err != nil {
		return nil
	}
	if string(raw) == "null" {
		// The decoder would take null as "not given" and apply defaults;
		// the contract has no nullable request field.
		return newProblem(http.StatusBadRequest, api.CodeInvalidJSON,
			fmt.Sprintf("field %q must not be null; leave it out to get the default", key))
	}
	// Walking a value token by token costs allocations per element (a
	// bulk delete holds 1000), so only a value that could hold null is
	// walked.
	if !bytes.Contains(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	depth := 1
	inArray := []bool{d == '['}
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' || v == '{' {
				depth++
				inArray = append(inArray, v == '[')
			} else {
				depth--
				inArray = inArray[:len(inArray)-1]
			}
		case nil:
			if inArray[len(inArray)-1] {
				return newProblem(http.StatusBadRequest, api.CodeInvalidJSON,
					fmt.Sprintf("field %q holds null in a list; leave the entry out instead", key))
			}
		}
	}
	return nil
}
