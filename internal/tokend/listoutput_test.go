package tokend

import (
	"path/filepath"
	"testing"
)

// The list commands share checkOutput: each refuses an -o it does not
// offer with the same one line naming what it does offer (exit 2).
func TestListCommandsRefuseAnUnknownOutput(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lists.db")
	for cmd, want := range map[string]string{
		"scope": `-o must be table or json, got "yaml"`,
		"sso":   `-o must be table or json, got "yaml"`,
		"trust": `-o must be table, tsv or json, got "yaml"`,
	} {
		_, _, err := run(t, "", nil, cmd, "list", "-o", "yaml", "--database", db)
		if err == nil || err.Error() != want {
			t.Errorf("%s list -o yaml = %v, want %q", cmd, err, want)
		}
	}
}
