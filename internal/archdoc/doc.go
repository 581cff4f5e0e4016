// Package archdoc keeps docs/architecture.md honest: its test reads the
// "Where to change a default" table and resolves every file and identifier
// it names in the source, so a rename that leaves the page behind fails
// the build instead of misleading the next reader. It has no code of its
// own; the checker lives in the test.
package archdoc
