// token revoke-leaked: find token secrets in any text and have the server
// delete every live one, without logging in.

package token

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/text"
)

// RevokeLeakedOptions are the inputs of `token revoke-leaked`.
type RevokeLeakedOptions struct {
	IO *iostreams.IOStreams
	// Client returns a client for the selected host that carries no
	// credential: a leak report needs none and must not send one.
	Client func() (*client.Client, error)

	File   string // "" or "-" is stdin
	Prefix string
	Source string

	// BatchSize is how many secrets go in one request (at most 1000).
	BatchSize int
}

// NewCmdRevokeLeaked builds `token revoke-leaked`.
func NewCmdRevokeLeaked(f *cmdutil.Factory, runF func(*RevokeLeakedOptions) error) *cobra.Command {
	opts := &RevokeLeakedOptions{IO: f.IOStreams, BatchSize: api.MaxRevokeSecrets}
	opts.Client = func() (*client.Client, error) {
		c, err := f.ClientFor("") // a leak report needs no login
		var ae *cmdutil.AuthError
		if errors.As(err, &ae) {
			return nil, cmdutil.UsageErrorf("no server selected: pass --host URL (or set TOKENCTL_HOST); revoke-leaked needs no login")
		}
		return c, err
	}
	cmd := &cobra.Command{
		Use:   "revoke-leaked [FILE | -]",
		Short: "Revoke token secrets found in a file, a log or a paste, whoever owns them",
		Long: `Read any text (a file, or stdin when FILE is - or missing), find every token
secret in it (the prefix, default tkn_, then 36 characters whose checksum
matches), and have the server delete the live ones. Their owners see a
token.revoked_leaked event in ` + "`tokenctl audit`" + ` with your address and --source.

No login is needed and none is sent: the secret is the proof. --host (or
TOKENCTL_HOST, or the profile's host) says which server to tell.

The input is streamed, so a log of any size is fine. Each secret found is
printed once, as its key hint and what happened: revoked, not live (already
deleted, expired or never issued by this server), malformed (the checksum
does not match: not a token), or not checked. A secret itself is never
printed.

Exit status: 0 when every secret found is dead afterwards (also when none
was found), 3 when some could not be checked (network error, rate limit).`,
		Example: `  tokenctl token revoke-leaked build.log --host https://tokens.example.com
  kubectl logs deploy/api | tokenctl token revoke-leaked - --source "api pod logs"
  tokenctl token revoke-leaked report.txt --prefix acme_`,
		Args: maxArgs(1, "tokenctl token revoke-leaked [FILE | -] [flags]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return revokeLeakedRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "prefix", secret.DefaultPrefix, "the server's token `PREFIX`")
	cmd.Flags().StringVar(&opts.Source, "source", "", "where the secrets were found, passed on to their owners (`TEXT`, up to 500 characters)")
	return cmd
}

func (o *RevokeLeakedOptions) validate() error {
	if err := secret.ValidPrefix(o.Prefix); err != nil {
		return cmdutil.UsageErrorf("--prefix: %s", err)
	}
	if n := len([]rune(o.Source)); n > api.MaxRevokeSource {
		return cmdutil.UsageErrorf("--source is %d characters long; the server takes at most %d", n, api.MaxRevokeSource)
	}
	if findsSecret(o.Source, o.Prefix) {
		return cmdutil.UsageErrorf("--source holds a token secret: say where it was found, not what")
	}
	if o.BatchSize <= 0 || o.BatchSize > api.MaxRevokeSecrets {
		o.BatchSize = api.MaxRevokeSecrets
	}
	return nil
}

func findsSecret(s, prefix string) bool {
	found := false
	_ = scanSecrets(strings.NewReader(s), prefix, func(c string) {
		if _, err := secret.Parse(c); err == nil {
			found = true
		}
	})
	return found
}

// found is one distinct candidate in the input.
type found struct {
	raw    string // the secret; never printed
	hint   string
	status string // revoked, not live, malformed (…), not checked: …
	dead   bool   // known not to work any more
}

func revokeLeakedRun(ctx context.Context, opts *RevokeLeakedOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	in := opts.IO.In
	name := "stdin"
	if opts.File != "" && opts.File != "-" {
		fh, err := os.Open(opts.File)
		if err != nil {
			return cmdutil.UsageErrorf("cannot read %s: %s", opts.File, text.OneLine(errors.Unwrap(err).Error()))
		}
		defer fh.Close()
		in, name = fh, opts.File
	}
	// Resolve the host before reading a possibly long stream.
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if name == "stdin" && opts.IO.IsStdinTTY() {
		fmt.Fprintln(opts.IO.ErrOut, "Paste the text to search, then press Ctrl-D on a line of its own.")
	}

	var all []*found
	var localBad int
	seen := map[string]bool{}
	err = scanSecrets(in, opts.Prefix, func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		f := &found{raw: s}
		if tok, err := secret.Parse(s); err == nil {
			f.hint = tok.Hint()
		} else {
			// Shaped like a token but the checksum fails: a mangled copy
			// at best, so it cannot work; not worth a request.
			f.hint = secret.HintOf(opts.Prefix, s)
			f.status, f.dead = "malformed (checksum mismatch)", true
			localBad++
		}
		all = append(all, f)
	})
	if err != nil {
		return fmt.Errorf("read %s: %s", name, text.OneLine(err.Error()))
	}
	if len(all) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "No %s secrets found in %s: nothing to revoke.\n", opts.Prefix, name)
		return nil
	}

	var send []*found
	for _, f := range all {
		if !f.dead {
			send = append(send, f)
		}
	}
	// The summary counts what the server said, which is exact even when a
	// mixed batch leaves the lines "revoked or not live".
	revoked, notLive, malformed, unchecked := 0, 0, localBad, 0
	var firstErr error
	for batch := range slices.Chunk(send, opts.BatchSize) {
		if firstErr != nil && isAuthOrCancel(firstErr) {
			markUnchecked(batch, firstErr)
			continue
		}
		secrets := make([]string, len(batch))
		for i, f := range batch {
			secrets[i] = f.raw
		}
		res, err := c.RevokeLeaked(ctx, secrets, opts.Source)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			markUnchecked(batch, err)
			continue
		}
		applyRevokeResult(batch, res)
		revoked += res.Revoked
		notLive += res.NotLive
		malformed += len(res.Malformed)
	}

	for _, f := range all {
		fmt.Fprintf(opts.IO.Out, "%s\t%s\n", f.hint, f.status)
		if !f.dead {
			unchecked++
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Found %s: revoked %d, not live %d, malformed %d, not checked %d\n",
		plural(len(all), "secret", "secrets"), revoked, notLive, malformed, unchecked)
	if unchecked > 0 {
		// An older tokend routes the path to /v1/tokens/{id}: 405, or 404.
		if client.IsStatus(firstErr, http.StatusNotFound) || client.IsStatus(firstErr, http.StatusMethodNotAllowed) {
			firstErr = fmt.Errorf("%w; this server takes no leak reports yet (tokend before issue 13): upgrade it", firstErr)
		}
		return &cmdutil.PartialError{Err: fmt.Errorf("%s could not be checked: %w", plural(unchecked, "secret", "secrets"), firstErr)}
	}
	return nil
}

func markUnchecked(batch []*found, err error) {
	why := "request failed"
	var ae *client.APIError
	if errors.As(err, &ae) {
		why = fmt.Sprintf("HTTP %d", ae.Status)
	}
	for _, f := range batch {
		f.status = "not checked (" + why + ")"
	}
}

// applyRevokeResult gives each secret of a batch its outcome. With the
// per-secret results array that is exact; a server that sends only counts
// still says enough when all valid secrets share one outcome, and
// otherwise each is "revoked or not live": dead either way.
func applyRevokeResult(batch []*found, res *client.RevokeOutcome) {
	if len(res.Results) == len(batch) {
		for i, f := range batch {
			f.dead = true
			switch res.Results[i] {
			case client.RevokeRevoked:
				f.status = "revoked"
			case client.RevokeNotLive:
				f.status = "not live"
			default:
				f.status = "malformed"
			}
		}
		for _, m := range res.Malformed {
			if m.Index >= 0 && m.Index < len(batch) && m.Reason != "" {
				batch[m.Index].status = "malformed (" + m.Reason + ")"
			}
		}
		return
	}
	bad := make(map[int]string, len(res.Malformed))
	for _, m := range res.Malformed {
		bad[m.Index] = m.Reason
	}
	valid := len(batch) - len(bad)
	for i, f := range batch {
		f.dead = true
		reason, isBad := bad[i]
		switch {
		case isBad:
			f.status = "malformed"
			if reason != "" {
				f.status += " (" + reason + ")"
			}
		case res.Revoked == valid:
			f.status = "revoked"
		case res.Revoked == 0:
			f.status = "not live"
		default:
			f.status = "revoked or not live"
		}
	}
}

// candidateLen is the length of a secret after its prefix.
const candidateLen = secret.RandomLen + secret.ChecksumLen

// scanSecrets calls fn with every run of prefix + 36 base62 characters in
// r, in order, reading r in chunks so any amount of text takes constant
// memory. Checksums are not checked here.
func scanSecrets(r io.Reader, prefix string, fn func(string)) error {
	re := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[0-9A-Za-z]{` + fmt.Sprint(candidateLen) + `}`)
	// A match is prefix+36 bytes long, so the last keep bytes of a chunk
	// cannot hold a whole one: carry them into the next read.
	keep := len(prefix) + candidateLen - 1
	br := bufio.NewReaderSize(r, 64<<10)
	buf := make([]byte, 0, 256<<10)
	for {
		n, err := io.ReadFull(br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		for _, m := range re.FindAllIndex(buf, -1) {
			fn(string(buf[m[0]:m[1]]))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(buf) > keep {
			buf = buf[:copy(buf, buf[len(buf)-keep:])]
		}
	}
}
