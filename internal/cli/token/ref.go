// Names where ids go: show, rotate and delete take a token's id or its
// exact name, resolved here, in one place.

package token

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/output"
)

// ref is what the user typed where a token goes: an id, or a name.
type ref struct {
	arg string
	id  string // set when arg is a valid id (ids are case-insensitive)
}

// parseRef checks arg before any request. An arg that is a valid id is
// an id, even if some token is named like one; anything else is a name.
// A token secret pasted by mistake is refused without being echoed or
// sent anywhere.
func parseRef(arg string) (ref, error) {
	if id := strings.ToLower(arg); api.ValidID(id) {
		return ref{arg: arg, id: id}, nil
	}
	switch {
	case looksLikeSecret(arg):
		return ref{}, cmdutil.UsageErrorf("%s is not a token id or name: give the token's id or name, as `tokenctl token list` shows them", quoteNotID(arg))
	case strings.TrimSpace(arg) == "" || utf8.RuneCountInString(arg) > api.MaxNameLen || strings.ContainsFunc(arg, unicode.IsControl):
		return ref{}, cmdutil.UsageErrorf("invalid token id or name %s: give the token's 26-character id or its name, as `tokenctl token list` shows them", quoteNotID(arg))
	}
	return ref{arg: arg}, nil
}

// resolve returns the token's id, and the token itself when the lookup
// listed it (a name); for an id it sends nothing and returns nil. A name
// must match exactly one token, expired ones included: none is exit 1,
// several is exit 2 listing the candidates' ids.
func (r ref) resolve(ctx context.Context, c *client.Client) (string, *api.Token, error) {
	if r.id != "" {
		return r.id, nil, nil
	}
	// The server's name filter is a glob without escapes; the name as a
	// glob matches at least itself, and the loop keeps exact matches.
	var found []api.Token
	for t, err := range c.ListTokens(ctx, client.ListQuery{Status: api.StatusAll, Name: r.arg, PageSize: client.PageSize}) {
		if err != nil {
			return "", nil, fmt.Errorf("look up token %q: %w", output.Sanitize(r.arg), err)
		}
		if t.Name == r.arg {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", nil, fmt.Errorf("no token named %q: see `tokenctl token list` (names are exact and case-sensitive)", output.Sanitize(r.arg))
	case 1:
		return found[0].ID, &found[0], nil
	}
	ids := make([]string, 0, maxCandidates)
	for _, t := range found[:min(len(found), maxCandidates)] {
		ids = append(ids, t.ID)
	}
	more := ""
	if len(found) > maxCandidates {
		more = fmt.Sprintf(" and %d more (`tokenctl token list --name %s` lists them)", len(found)-maxCandidates, shellQuote(output.Sanitize(r.arg)))
	}
	return "", nil, cmdutil.UsageErrorf("%d tokens are named %q: give one of their ids: %s%s", len(found), output.Sanitize(r.arg), strings.Join(ids, ", "), more)
}

// maxCandidates caps the ids an ambiguous name's error lists: it is one
// line.
const maxCandidates = 10

// String is the token as the user named it, for messages.
func (r ref) String() string {
	if r.id != "" {
		return r.id
	}
	return fmt.Sprintf("%q", output.Sanitize(r.arg))
}
