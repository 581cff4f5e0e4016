package e2e

import (
	"os"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestCIGuideRecipeIsTested keeps the shell recipe in docs/ci.md and the
// copy that testdata/ci_recipes.txtar runs identical, so the guide cannot
// drift from what is tested.
func TestCIGuideRecipeIsTested(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## A plain shell script.*?```sh\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/ci.md has no ```sh block under \"## A plain shell script\"")
	}
	ar, err := txtar.ParseFile("testdata/ci_recipes.txtar")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "recipe.sh" {
			if got, want := string(f.Data), string(m[1]); got != want {
				t.Fatalf("recipe.sh in testdata/ci_recipes.txtar differs from docs/ci.md:\n--- txtar\n%s\n--- docs\n%s", got, want)
			}
			return
		}
	}
	t.Fatal("testdata/ci_recipes.txtar has no recipe.sh")
}
