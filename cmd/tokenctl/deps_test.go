package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNothingOfTheServer keeps the client binary free of the server:
// tokenctl shares only the wire types (internal/api) with tokend, so it must
// not link the store, the HTTP handlers or the SQLite engine.
func TestLinksNothingOfTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/tokenctl/tokenctl/internal/store",
		"github.com/tokenctl/tokenctl/internal/server",
		"modernc.org/sqlite",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("tokenctl depends on %s", pkg)
			}
		}
	}
}
