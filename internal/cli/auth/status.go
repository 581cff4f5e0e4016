package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// StatusOptions are the inputs of `auth status`.
type StatusOptions struct {
	IO         *iostreams.IOStreams
	Factory    *cmdutil.Factory
	FailWithin string
	Output     string

	failWithin time.Duration
}

// StatusJSON is `auth status -o json`: a stable schema for scripts.
type StatusJSON struct {
	Host     string           `json:"host"`
	Username string           `json:"username"`
	Source   string           `json:"source"`   // environment, keyring or file
	Location string           `json:"location"` // said for people
	Token    *StatusTokenJSON `json:"token"`    // null when not a token
}

// StatusTokenJSON describes the credential's token in StatusJSON.
type StatusTokenJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	KeyHint   string    `json:"key_hint"`
	ExpiresAt time.Time `json:"expires_at"`
	DaysLeft  int       `json:"days_left"`
}

// NewCmdStatus returns `auth status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who you are logged in as and where the credential lives",
		Long: `Show the host, the user, where the credential lives (OS keyring, environment
or plain file) and when it expires. The credential is checked with the server.

Exits 4 when there is no credential or the server rejects it. With
--fail-within D it also exits 1 when the credential expires within D, so a CI
job can warn before a token runs out.`,
		Example: `  $ tokenctl auth status
  $ tokenctl auth status --host https://tokens.example.com
  $ tokenctl auth status --fail-within 14d   # CI canary
  $ tokenctl auth status -o json | jq .token.days_left`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "" && opts.Output != "text" && opts.Output != "json" {
				return cmdutil.UsageErrorf("invalid --output %q: want text or json", opts.Output)
			}
			if opts.FailWithin != "" {
				d, err := timespec.ParseDuration(opts.FailWithin)
				if err != nil {
					return cmdutil.UsageErrorf("invalid --fail-within: %v", err)
				}
				opts.failWithin = d
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `FORMAT`: text or json")
	cmd.Flags().StringVar(&opts.FailWithin, "fail-within", "", "exit 1 when the credential expires within this `DURATION` (e.g. 7d)")
	return cmd
}

func statusRun(ctx context.Context, o *StatusOptions) error {
	f := o.Factory
	cred, err := f.Credential()
	if err != nil {
		return err
	}
	cl, err := clientWith(f, cred)
	if err != nil {
		return err
	}
	u, err := cl.User(ctx)
	if client.IsStatus(err, http.StatusUnauthorized) {
		next := "run `tokenctl auth login --host " + cred.Host + "`"
		if cred.Source == cmdutil.SourceEnv {
			next = "set TOKENCTL_TOKEN to a valid token, or unset it and log in"
		}
		return &cmdutil.AuthError{Err: fmt.Errorf("credential for %s from %s was rejected (expired or revoked): %s", cred.Host, cred.Location, next)}
	}
	if err != nil {
		return err
	}
	if cred.Source != cmdutil.SourceEnv {
		if st, err := f.CredentialStore(); err == nil {
			_ = st.Meta.Record(cred.Host, cred.Token, u)
		}
	}

	now := f.Now()
	var expiresSoon error
	if t := u.Token; t != nil && o.failWithin > 0 && t.ExpiresAt.Sub(now) <= o.failWithin {
		expiresSoon = fmt.Errorf("the credential for %s expires %s, within %s: run `tokenctl auth refresh`",
			cred.Host, timespec.Stamp(t.ExpiresAt, now, true), o.FailWithin)
	}
	if o.Output == "json" {
		doc := StatusJSON{Host: cred.Host, Username: u.Username, Source: cred.Source, Location: cred.Location}
		if t := u.Token; t != nil {
			doc.Token = &StatusTokenJSON{ID: t.ID, Name: t.Name, KeyHint: t.KeyHint, ExpiresAt: t.ExpiresAt.UTC(), DaysLeft: daysLeft(t.ExpiresAt, now)}
		}
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
		return expiresSoon
	}
	out := o.IO.Out
	fmt.Fprintf(out, "%s\n", cred.Host)
	fmt.Fprintf(out, "  Logged in as:  %s\n", u.Username)
	fmt.Fprintf(out, "  Credential:    %s\n", cred.Location)
	if t := u.Token; t != nil {
		fmt.Fprintf(out, "  Token:         %s (%s, id %s)\n", t.Name, t.KeyHint, t.ID)
		fmt.Fprintf(out, "  Expires:       %s\n", timespec.Stamp(t.ExpiresAt, now, true))
	}
	return expiresSoon
}

// daysLeft counts whole days until t, never below zero.
func daysLeft(t, now time.Time) int {
	return max(int(t.Sub(now).Hours()/24), 0)
}
