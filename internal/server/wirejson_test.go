package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
)

func encodingJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var awkwardStrings = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
	"\x00\x01\x1f\x7f \b\f\n\r\t", "é ü 🔑 日本", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82",
	"tkn_abcd…wxyz",
}

// TestAppendUserMatchesEncodingJSON: the hand-built /v1/user body is byte
// for byte what json.Encoder writes, for awkward strings and times, with and
// without a token and a last use.
func TestAppendUserMatchesEncodingJSON(t *testing.T) {
	last := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	for _, s := range awkwardStrings {
		for _, withToken := range []bool{false, true} {
			for i, lastUsed := range []*time.Time{nil, &last} {
				u := api.User{ID: s, Username: s + "x", AuthMethod: api.AuthPassword}
				if withToken {
					u.AuthMethod = api.AuthToken
					u.Token = &api.Token{ID: s, Name: s, Description: s, KeyHint: s,
						CreatedAt:  time.Date(2026, 12, 2, 4, 56, 22, 0, time.UTC),
						ExpiresAt:  time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
						LastUsedAt: lastUsed, Status: api.StatusActive}
					// nil, none, and several (with the awkward string).
					u.Token.Scopes = [][]string{nil, {}, {"tokens:read", s}}[(i+len(s))%3]
				}
				got, ok := appendUser(nil, &u)
				if !ok {
					t.Fatalf("appendUser refused %+v", u)
				}
				if want := encodingJSON(t, u); !bytes.Equal(got, want) {
					t.Errorf("appendUser(%q)\n got %s\nwant %s", s, got, want)
				}
			}
		}
	}
}

// TestWriteUserLeavesOddTimesToEncodingJSON: a time encoding/json would
// refuse or write with a zone is not hand-built, and the answer through
// encode is still encoding/json's.
func TestWriteUserLeavesOddTimesToEncodingJSON(t *testing.T) {
	zone := time.FixedZone("x", 3600)
	for _, at := range []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, zone), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		u := api.User{ID: "u", Username: "n", AuthMethod: api.AuthToken,
			Token: &api.Token{ID: "t", CreatedAt: at, ExpiresAt: at, Status: api.StatusActive}}
		if _, ok := appendUser(nil, &u); ok {
			t.Errorf("appendUser accepted %v", at)
		}
		rec := httptest.NewRecorder()
		encode(rec, 200, u)
		var want bytes.Buffer
		_ = json.NewEncoder(&want).Encode(u) // may fail for year 10000: then nothing is written
		if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
			t.Errorf("encode(%v) = %s, want %s", at, rec.Body, want.Bytes())
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := append(appendJSONString(nil, s), '\n')
		if want := encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestAppendUserKnowsEveryField: a field added to api.User or api.Token must
// be added to the hand-built body too, or this fails (the comparison above
// only sees fields it sets).
func TestAppendUserKnowsEveryField(t *testing.T) {
	if n := reflect.TypeFor[api.Token]().NumField(); n != 9 {
		t.Errorf("api.Token has %d fields; appendToken writes 9: add the new one to wirejson.go and its test", n)
	}
	if n := reflect.TypeFor[api.User]().NumField(); n != 6 {
		t.Errorf("api.User has %d fields; appendUser writes 6: add the new one to wirejson.go and its test", n)
	}
}
