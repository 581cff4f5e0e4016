package store

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// NewID returns a new record id: a lower-case ULID (26 characters of
// Crockford base32), URL-safe and sortable by creation time, so keyset
// pagination by id is newest-first by construction.
func NewID(now time.Time) string {
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(now), rand.Reader).String())
}
