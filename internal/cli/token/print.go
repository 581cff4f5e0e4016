package token

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/atotto/clipboard"
	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// DefaultEnvName is the variable -o env and -o dotenv assign the secret to.
// It is deliberately not one tokenctl reads (TOKENCTL_TOKEN, TOKENCTL_*):
// after `eval "$(tokenctl token create ci -o env)"` the next tokenctl
// command must still run as you, not as the token just minted.
const DefaultEnvName = "TOKEN"

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secretOutput is what create and rotate share: how the one-time secret is
// printed (-q, -o text|json|yaml|env|dotenv, --env-name, --copy).
type secretOutput struct {
	Quiet   bool
	Export  output.Exporter
	EnvName string
	Copy    bool

	// getenv reads GITHUB_ACTIONS.
	getenv func(string) string
}

var secretFormats = []string{output.FormatText, output.FormatJSON, output.FormatYAML, output.FormatEnv, output.FormatDotenv}

func (o *secretOutput) validate() error {
	if err := o.Export.Validate(); err != nil {
		return cmdutil.UsageErrorf("%s", err)
	}
	if o.Quiet && o.Export.Format != output.FormatText {
		return cmdutil.UsageErrorf("-q prints the bare secret and cannot be combined with -o %s", o.Export.Format)
	}
	if !envNameRE.MatchString(o.EnvName) {
		return cmdutil.UsageErrorf("invalid --env-name %q: use letters, digits and '_', not starting with a digit", o.EnvName)
	}
	return nil
}

// print writes the freshly minted secret. The CI mask always comes first,
// on stderr, so a GitHub Actions runner hides the secret before it can
// appear on stdout. verb is "Created" or "Rotated".
func (o *secretOutput) print(ios *iostreams.IOStreams, ct *api.CreatedToken, verb string, now time.Time) error {
	cmdutil.MaskSecret(ios.ErrOut, o.getenv, ct.Secret)
	ct = &api.CreatedToken{Token: utc(ct.Token), Secret: ct.Secret}
	var err error
	switch o.Export.Kind() {
	case output.KindEnv:
		o.noteOwnVariable(ios)
		_, err = fmt.Fprintf(ios.Out, "%s=%s\n", o.EnvName, shellQuote(ct.Secret))
	case output.KindDotenv:
		// Secrets are base62 with an '_' prefix: nothing in them needs
		// quoting, and $GITHUB_ENV takes the value verbatim.
		o.noteOwnVariable(ios)
		_, err = fmt.Fprintf(ios.Out, "%s=%s\n", o.EnvName, ct.Secret)
	case output.KindJSON, output.KindYAML, output.KindJQ, output.KindTemplate:
		err = o.Export.Write(ios.Out, ct, ios.IsStdoutTTY())
	default:
		if o.Quiet {
			_, err = fmt.Fprintln(ios.Out, ct.Secret)
		} else {
			err = printSecretBlock(ios.Out, ios.ColorEnabled(), ct, verb, now)
			if !ios.IsStdoutTTY() {
				fmt.Fprintln(ios.ErrOut, "note: for scripts, use -q for the bare secret or -o json for the whole record")
			}
		}
	}
	if err != nil {
		return err
	}
	if o.Copy {
		o.copy(ios, ct.Secret)
	}
	return nil
}

// noteOwnVariable warns when --env-name is a variable tokenctl reads
// itself: setting it swaps tokenctl's own credential or settings for the
// new secret.
func (o *secretOutput) noteOwnVariable(ios *iostreams.IOStreams) {
	if strings.HasPrefix(o.EnvName, "TOKENCTL_") {
		fmt.Fprintf(ios.ErrOut, "note: tokenctl reads %s itself: once it is set, later tokenctl commands use the new token\n", o.EnvName)
	}
}

func (o *secretOutput) copy(ios *iostreams.IOStreams, secret string) {
	if clipboard.Unsupported {
		fmt.Fprintln(ios.ErrOut, "No clipboard is available here (install xclip, xsel or wl-clipboard); copy the secret from the output instead")
		return
	}
	if err := clipboard.WriteAll(secret); err != nil {
		// The clipboard library's error names the missing helper tool;
		// it never contains the secret.
		fmt.Fprintf(ios.ErrOut, "Could not copy the secret to the clipboard (%s); copy it from the output instead\n", text.OneLine(err.Error()))
		return
	}
	fmt.Fprintln(ios.ErrOut, "Copied the secret to the clipboard")
}

// printSecretBlock is the human layout: the secret on its own line, the
// once-only warning, then the metadata a person needs to find it later.
func printSecretBlock(w io.Writer, color bool, ct *api.CreatedToken, verb string, now time.Time) error {
	c := func(st output.Style, s string) string { return output.Colorize(color, st, s) }
	var b strings.Builder
	fmt.Fprintf(&b, "%s token %q\n\n", c(output.StyleGood, "✓ "+verb), output.Sanitize(ct.Name))
	fmt.Fprintf(&b, "    %s\n\n", c(output.StyleBold, ct.Secret))
	fmt.Fprintf(&b, "%s\n\n", c(output.StyleWarn, "! Copy it now: this secret is shown only once and cannot be retrieved later."))
	fmt.Fprintf(&b, "  ID:       %s\n", ct.ID)
	fmt.Fprintf(&b, "  Key:      %s\n", ct.KeyHint)
	if ct.Description != "" {
		fmt.Fprintf(&b, "  About:    %s\n", output.Sanitize(ct.Description))
	}
	// Measured from the server's creation time, so a 29d token reads
	// "in 29d", not "in 28d" a few milliseconds later.
	if !ct.CreatedAt.IsZero() {
		now = ct.CreatedAt
	}
	fmt.Fprintf(&b, "  Expires:  %s (%s)\n", timespec.Date(ct.ExpiresAt), timespec.Relative(ct.ExpiresAt, now, true))
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for POSIX shells: single quotes, with embedded single
// quotes closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
