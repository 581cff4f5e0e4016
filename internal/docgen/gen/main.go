// Command gen regenerates docs/man, docs/reference and completions/ from the
// command trees: `go run ./internal/docgen/gen` (or `make generate`) from the
// repository root.
package main

import (
	"fmt"
	"os"

	"github.com/tokenctl/tokenctl/internal/docgen"
)

func main() {
	files, err := docgen.Files(docgen.Trees()...)
	if err == nil {
		err = docgen.Write(".", files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("gen: wrote %d files\n", len(files))
}
