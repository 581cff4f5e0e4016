// token delete, step 1: what to delete (flags, ids from arguments or
// stdin, filters resolved against the listing, the current credential
// spared).

package token

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
)

func (o *DeleteOptions) hasFilter() bool {
	return o.Expired || o.Name != "" || len(o.Scopes) > 0 || o.CreatedBefore != "" || o.UnusedSince != "" || o.ExpiresBefore != "" || o.All
}

// validate checks everything that can be checked without the server,
// including reading and checking ids from stdin.
func (o *DeleteOptions) validate() error {
	// Clean first: --scope ' ' must not count as a filter and then
	// select everything.
	sc, err := cleanScopes(o.Scopes)
	if err != nil {
		return err
	}
	o.Scopes = sc
	byID := len(o.IDs) > 0 || o.FromStdin
	switch {
	case byID && o.All:
		return cmdutil.UsageErrorf("--all cannot be combined with token ids")
	case byID && o.hasFilter():
		return cmdutil.UsageErrorf("give token ids or filters (--expired, --name, --scope, --created-before, --unused-since, --expires-before), not both")
	case !byID && !o.hasFilter():
		return cmdutil.UsageErrorf("nothing selected: give token ids, - to read ids from stdin, or a filter (--expired, --name GLOB, --scope SCOPE, --created-before DATE, --unused-since AGE, --expires-before DATE, --all)")
	case o.All && (o.Expired || o.Name != "" || len(o.Scopes) > 0 || o.CreatedBefore != "" || o.UnusedSince != "" || o.ExpiresBefore != ""):
		return cmdutil.UsageErrorf("--all selects every token and cannot be combined with other filters")
	}
	if o.BatchSize <= 0 || o.BatchSize > api.MaxBulkDelete {
		o.BatchSize = api.MaxBulkDelete
	}
	if err := checkGlob("--name", o.Name); err != nil {
		return err
	}
	if o.createdBefore, err = pointFlag("--created-before", o.CreatedBefore, o.Now(), false); err != nil {
		return err
	}
	if o.unusedSince, err = pointFlag("--unused-since", o.UnusedSince, o.Now(), false); err != nil {
		return err
	}
	if o.expBefore, err = pointFlag("--expires-before", o.ExpiresBefore, o.Now(), true); err != nil {
		return err
	}
	// Arguments are ids or exact names (resolved with the listing, in
	// resolve); only ids come from stdin.
	ids := make([]string, 0, len(o.IDs))
	for _, a := range o.IDs {
		r, err := parseRef(a)
		if err != nil {
			return err
		}
		if r.id != "" {
			ids = append(ids, r.id)
		} else {
			o.names = append(o.names, r)
		}
	}
	o.IDs = ids
	if o.FromStdin {
		ids, err := readIDs(o.IO.In)
		if err != nil {
			return err
		}
		o.IDs = ids
		if len(ids) == 0 {
			return cmdutil.UsageErrorf("no token ids on stdin: write one id per line")
		}
	}
	o.IDs = dedupe(o.IDs)
	o.named = make(map[string]bool, len(o.IDs))
	for _, id := range o.IDs {
		o.named[id] = true
	}
	return nil
}

// readIDs reads one id per line: the first whitespace-separated field, so
// `token list` output or "id name" lines can be piped in. Blank lines and
// lines starting with # are skipped; anything else that is not an id is an
// error naming its line.
func readIDs(r io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// ULIDs are case-insensitive; the server stores them lower case.
		field := strings.Fields(line)[0]
		id := strings.ToLower(field)
		if !api.ValidID(id) {
			return nil, cmdutil.UsageErrorf("stdin line %d: %s is not a token id (want one 26-character id per line; # starts a comment)", n, quoteNotID(field))
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, cmdutil.UsageErrorf("reading ids from stdin: %s", err)
	}
	return ids, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// target is one selected token; name is empty when it was selected by id.
type target struct{ id, name string }

// resolve turns the selection into the list of tokens to delete. Ids are
// taken as given (the server reports unknown ones), names looked up; filters walk the full
// listing, which the server narrows by status, name and scope.
func (o *DeleteOptions) resolve(ctx context.Context, c *client.Client) ([]target, error) {
	if len(o.IDs) > 0 || len(o.names) > 0 {
		out := make([]target, len(o.IDs), len(o.IDs)+len(o.names))
		for i, id := range o.IDs {
			out[i] = target{id: id}
		}
		// A name must name one token; every name is resolved before
		// anything is deleted, so one bad name deletes nothing.
		for _, r := range o.names {
			id, t, err := r.resolve(ctx, c)
			if err != nil {
				return nil, err
			}
			if !o.named[id] {
				o.named[id] = true
				out = append(out, target{id: id, name: t.Name})
			}
		}
		return out, nil
	}
	q := client.ListQuery{Status: api.StatusAll, Name: o.Name, Scopes: o.Scopes, PageSize: client.PageSize, UnusedSince: o.unusedSince}
	if o.Expired {
		q.Status = api.StatusExpired
	}
	var out []target
	for t, err := range c.ListTokens(ctx, q) {
		if err != nil {
			return nil, fmt.Errorf("list tokens to delete: %w", err)
		}
		if !o.createdBefore.IsZero() && !t.CreatedAt.Before(o.createdBefore) {
			continue
		}
		if !unusedBefore(t, o.unusedSince) {
			continue
		}
		if !o.expBefore.IsZero() && !t.ExpiresAt.Before(o.expBefore) {
			continue
		}
		// Defence in depth: the server filtered by name already, but a
		// delete must never widen the user's selection.
		if o.Name != "" {
			if ok, _ := path.Match(o.Name, t.Name); !ok {
				continue
			}
		}
		if !hasScopes(t, o.Scopes) {
			continue
		}
		out = append(out, target{id: t.ID, name: t.Name})
	}
	return out, nil
}

// spareCurrent takes the token tokenctl is logged in with out of the
// selection unless it was named by id or --include-current was given:
// never cut the branch tokenctl sits on by accident. It reports whether
// the current token stays selected, and fails when it was the only match,
// so a cleanup that deleted nothing does not look like success.
func (o *DeleteOptions) spareCurrent(targets []target, current string) ([]target, bool, error) {
	if current == "" {
		return targets, false, nil
	}
	i := slices.IndexFunc(targets, func(t target) bool { return t.id == current })
	switch {
	case i < 0:
		return targets, false, nil
	case o.IncludeCurrent || o.named[current]:
		return targets, true, nil
	case len(targets) == 1:
		return nil, false, fmt.Errorf("nothing deleted: the only match is %s, the token tokenctl is logged in with; pass --include-current to delete it (logs you out)", current)
	}
	fmt.Fprintf(o.IO.ErrOut, "Skipping %s, the token tokenctl is logged in with (pass --include-current or name its id to delete it)\n", current)
	return slices.Delete(targets, i, i+1), false, nil
}
