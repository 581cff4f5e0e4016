package server

import (
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
)

// The answer to an authenticated GET /v1/user is built by hand: it is on
// the hot path, and encoding/json spends reflection and three allocations
// for its timestamps on it. The bytes are exactly what json.Encoder writes
// (TestAppendUserMatchesEncodingJSON and FuzzAppendJSONString hold them to
// it); anything it cannot match byte for byte falls back to encoding/json.

var userBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeUser answers u with status, or reports false without writing when
// it has to leave u to encoding/json.
func writeUser(w http.ResponseWriter, status int, u *api.User) bool {
	bp := userBuffers.Get().(*[]byte)
	b, ok := appendUser((*bp)[:0], u)
	if ok {
		h := w.Header()
		h["Content-Type"] = jsonContentType
		h["Cache-Control"] = noStore
		h["X-Content-Type-Options"] = noSniff
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
	if cap(b) <= 4<<10 {
		*bp = b
		userBuffers.Put(bp)
	}
	return ok
}

// appendUser appends u as json.Encoder encodes it, newline included.
func appendUser(b []byte, u *api.User) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, u.ID)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, u.Username)
	b = append(b, `,"auth_method":`...)
	b = appendJSONString(b, u.AuthMethod)
	if t := u.Token; t != nil {
		var ok bool
		b = append(b, `,"token":`...)
		if b, ok = appendToken(b, t); !ok {
			return b, false
		}
	}
	b = append(b, `,"role":`...)
	b = appendJSONString(b, u.Role)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, u.Kind)
	return append(b, "}\n"...), true
}

func appendToken(b []byte, t *api.Token) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = appendJSONString(b, t.ID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, t.Name)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.Description)
	b = append(b, `,"key_hint":`...)
	b = appendJSONString(b, t.KeyHint)
	b = append(b, `,"created_at":`...)
	if b, ok = appendJSONTime(b, t.CreatedAt); !ok {
		return b, false
	}
	b = append(b, `,"expires_at":`...)
	if b, ok = appendJSONTime(b, t.ExpiresAt); !ok {
		return b, false
	}
	b = append(b, `,"last_used_at":`...)
	if t.LastUsedAt == nil {
		b = append(b, "null"...)
	} else if b, ok = appendJSONTime(b, *t.LastUsedAt); !ok {
		return b, false
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, t.Status)
	b = append(b, `,"scopes":`...)
	if t.Scopes == nil {
		b = append(b, "null"...) // as encoding/json; the handler always sends []
	} else {
		b = append(b, '[')
		for i, sc := range t.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, sc)
		}
		b = append(b, ']')
	}
	return append(b, '}'), true
}

// appendJSONTime is time.Time.MarshalJSON for UTC times in years 0-9999;
// others report false.
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC {
		return b, false
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping,
// json.Encoder's default: <, > and & as \u00XX, U+2028 and U+2029 escaped,
// invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
