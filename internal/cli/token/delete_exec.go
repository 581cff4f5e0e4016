// token delete, step 3: send the deletes in batches and log out when the
// current credential went with them.

package token

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/text"
)

type deleteResult struct {
	deleted    int
	deletedSet map[string]bool
	notFound   []string
	failed     int
	err        error // the first failure
}

// deleteBatches sends the selection in bulk requests. A failed batch is
// counted and the next one still tried, unless the credential was rejected
// or the command interrupted, which would fail every later batch too.
func (o *DeleteOptions) deleteBatches(ctx context.Context, c *client.Client, targets []target) deleteResult {
	res := deleteResult{deletedSet: make(map[string]bool)}
	var bar *progressbar.ProgressBar
	if o.IO.IsStderrTTY() {
		bar = progressbar.NewOptions(len(targets),
			progressbar.OptionSetWriter(o.IO.ErrOut),
			progressbar.OptionSetDescription("Deleting"),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		// Show the empty bar at once: a single batch would otherwise
		// finish (and be cleared) before it was ever drawn.
		_ = bar.RenderBlank()
	}
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	for batch := range slices.Chunk(ids, o.BatchSize) {
		if res.err != nil && isAuthOrCancel(res.err) {
			res.failed += len(batch)
			continue
		}
		r, err := c.DeleteTokens(ctx, batch)
		if err != nil {
			res.failed += len(batch)
			if res.err == nil {
				res.err = err
			}
		} else {
			res.deleted += len(r.Deleted)
			for _, id := range r.Deleted {
				res.deletedSet[id] = true
			}
			res.notFound = append(res.notFound, r.NotFound...)
		}
		if bar != nil {
			_ = bar.Add(len(batch))
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return res
}

// logout forgets the credential that was just deleted, so the next command
// says "not logged in" instead of "credential rejected".
func (o *DeleteOptions) logout() {
	w := o.IO.ErrOut
	if o.Credential == nil || o.RemoveCredential == nil {
		fmt.Fprintln(w, "Deleted the token tokenctl was logged in with: run `tokenctl auth login` to log in again")
		return
	}
	cred, err := o.Credential()
	if err != nil {
		fmt.Fprintf(w, "Deleted the token tokenctl was logged in with: run `tokenctl auth login` to log in again\n")
		return
	}
	if err := o.RemoveCredential(cred); err != nil {
		fmt.Fprintf(w, "Deleted the token tokenctl was logged in with, but could not remove it from the %s: %s\n", cred.Source, text.OneLine(err.Error()))
		return
	}
	fmt.Fprintf(w, "Deleted the token tokenctl was logged in with: logged out of %s (run `tokenctl auth login` to log in again)\n", cred.Host)
}
