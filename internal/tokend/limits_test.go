package tokend

import (
	"path/filepath"
	"strings"
	"testing"
)

// --password-checks bounds concurrent argon2id checks; a negative bound is
// a usage error naming the flag, not a server that can never check one.
func TestServePasswordChecksFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	_, _, err := run(t, "", nil, "serve", "--password-checks", "-1", "--database", db)
	if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "--password-checks") {
		t.Fatalf("--password-checks -1: %v, want a usage error naming the flag", err)
	}
}
