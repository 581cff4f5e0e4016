// Command tokenctl manages personal access tokens. All of it lives in
// internal/cli/root; this file only hands over the exit code.
package main

import (
	"os"

	"github.com/tokenctl/tokenctl/internal/cli/root"
)

func main() { os.Exit(root.Main()) }
