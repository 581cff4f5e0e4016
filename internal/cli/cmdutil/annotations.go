package cmdutil

import "github.com/spf13/cobra"

// AnnotationReportsExpiry marks a command (or group) that reports the
// credential's expiry itself, so the root turns the one-line expiry
// warning off for it and everything under it.
const AnnotationReportsExpiry = "tokenctl/reports-expiry"

// ReportsExpiry reports whether cmd or one of its parents carries
// AnnotationReportsExpiry.
func ReportsExpiry(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[AnnotationReportsExpiry] != "" {
			return true
		}
	}
	return false
}
