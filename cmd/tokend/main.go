// Command tokend is the reference token API server for tokenctl.
package main

import (
	"os"

	"github.com/tokenctl/tokenctl/internal/tokend"
)

func main() { os.Exit(tokend.Main()) }
