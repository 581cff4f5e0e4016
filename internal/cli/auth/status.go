package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/credential"
	"github.com/tokenctl/tokenctl/internal/iostreams"
	"github.com/tokenctl/tokenctl/internal/output"
	"github.com/tokenctl/tokenctl/internal/timespec"
)

// StatusOptions are the inputs of `auth status`.
type StatusOptions struct {
	IO            *iostreams.IOStreams
	Credential    func() (*cmdutil.Credential, error)
	Credentials   func() (*credential.Service, error)
	ClientOptions func() (client.Options, error)
	Now           func() time.Time

	FailWithin string
	Output     string

	failWithin time.Duration
}

// StatusJSON is `auth status -o json`: a stable schema for scripts. The
// top level describes the credential in use; Accounts lists every account
// stored for the host, the active one marked.
type StatusJSON struct {
	Host     string              `json:"host"`
	Username string              `json:"username"`
	Source   string              `json:"source"`   // environment, keyring or file
	Location string              `json:"location"` // said for people
	Token    *StatusTokenJSON    `json:"token"`    // null when not a token
	Accounts []StatusAccountJSON `json:"accounts"`
}

// StatusTokenJSON describes a credential's token in StatusJSON.
type StatusTokenJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	KeyHint   string    `json:"key_hint"`
	ExpiresAt time.Time `json:"expires_at"`
	DaysLeft  int       `json:"days_left"`
	Scopes    []string  `json:"scopes"` // what the token may do; [] when none
}

// StatusAccountJSON is one stored account in StatusJSON.
type StatusAccountJSON struct {
	Username string           `json:"username"`
	Active   bool             `json:"active"`
	Source   string           `json:"source"`
	Location string           `json:"location"`
	State    string           `json:"state"` // ok, rejected, unreadable or unchecked
	Token    *StatusTokenJSON `json:"token"`
}

// Account states in `auth status`.
const (
	stateOK         = "ok"
	stateRejected   = "rejected"   // the server refuses the token
	stateUnreadable = "unreadable" // its secret could not be read
	stateUnchecked  = "unchecked"  // the server could not be asked
)

// NewCmdStatus returns `auth status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Credential: f.Credential, Credentials: f.Credentials, ClientOptions: f.ClientOptions, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who you are logged in as and where the credential lives",
		Long: `Show the host, the user, where the credential lives (OS keyring, environment
or plain file), when it expires and its scopes (what it may do), for the
credential in use and for every other account logged in to the host (the
active one is marked). Each credential is checked with the server.

Exit codes describe the credential in use:
  0  valid (and, with --fail-within, not expiring within D)
  1  could not check: the server could not be reached or answered with an error
  4  no credential, or the server rejects it
  5  with --fail-within D: valid, but expires within D (a CI canary)`,
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
	cmd.Flags().StringVar(&opts.FailWithin, "fail-within", "", "exit 5 when the credential expires within this `DURATION` (e.g. 7d)")
	return cmd
}

// accountStatus is one account as checked with the server.
type accountStatus struct {
	cred   *cmdutil.Credential
	active bool
	state  string
	user   *api.User // set when state is ok
	err    error     // why not ok
}

func statusRun(ctx context.Context, o *StatusOptions) error {
	cred, err := o.Credential()
	if err != nil {
		return err
	}
	svc, err := o.Credentials()
	if err != nil {
		return err
	}
	inUse := o.check(ctx, svc, cred)
	switch inUse.state {
	case stateRejected:
		next := "run `tokenctl auth login --host " + cred.Host + "`"
		if cred.Source == cmdutil.SourceEnv {
			next = "set TOKENCTL_TOKEN to a valid token, or unset it and log in"
		}
		return &cmdutil.AuthError{Err: fmt.Errorf("credential for %s from %s was rejected (expired or revoked): %s", cred.Host, cred.Location, next)}
	case stateUnchecked:
		return inUse.err
	}
	u := inUse.user
	// The other accounts of the host; TOKENCTL_TOKEN shadows them all, so
	// with it only the credential in use is shown.
	var others []accountStatus
	if cred.Source != cmdutil.SourceEnv {
		inUse.active = true
		for _, a := range svc.Accounts(cred.Host) {
			if a.Username == cred.Username {
				continue
			}
			c, err := svc.LookupUser(cred.Host, a.Username)
			if err != nil {
				others = append(others, accountStatus{cred: &cmdutil.Credential{Host: cred.Host, Username: a.Username, Source: a.Storage, Location: svc.Location(a.Storage)}, state: stateUnreadable, err: err})
				continue
			}
			others = append(others, o.check(ctx, svc, c))
		}
	}

	now := o.Now()
	var expiresSoon string
	if t := u.Token; t != nil && o.failWithin > 0 && t.ExpiresAt.Sub(now) <= o.failWithin {
		expiresSoon = fmt.Sprintf("the credential for %s expires %s, within %s: run `tokenctl auth refresh`",
			cred.Host, timespec.Stamp(t.ExpiresAt, now, true), o.FailWithin)
	}
	if o.Output == "json" {
		if err := o.printJSON(inUse, others, now); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.IO.Out, "%s\n", cred.Host)
		printAccount(o.IO.Out, inUse, len(others) > 0, now)
		for _, a := range others {
			fmt.Fprintln(o.IO.Out)
			printAccount(o.IO.Out, a, true, now)
		}
	}
	if expiresSoon != "" {
		fmt.Fprintln(o.IO.ErrOut, expiresSoon)
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitExpiring}
	}
	return nil
}

// check asks the server about c and records what it said.
func (o *StatusOptions) check(ctx context.Context, svc *credential.Service, c *cmdutil.Credential) accountStatus {
	st := accountStatus{cred: c}
	cl, err := clientFor(o.ClientOptions, c.Token)
	if err != nil {
		st.state, st.err = stateUnchecked, err
		return st
	}
	u, err := cl.User(ctx)
	switch {
	case client.IsStatus(err, http.StatusUnauthorized):
		st.state, st.err = stateRejected, err
		return st
	case err != nil:
		st.state, st.err = stateUnchecked, err
		return st
	}
	st.state, st.user = stateOK, u
	var f credential.Facts
	if t := u.Token; t != nil {
		f = credential.Facts{TokenID: t.ID, TokenName: t.Name, ExpiresAt: t.ExpiresAt}
	}
	_ = svc.Record(c, u.Username, f)
	return st
}

func tokenJSON(t *api.Token, now time.Time) *StatusTokenJSON {
	if t == nil {
		return nil
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return &StatusTokenJSON{ID: t.ID, Name: t.Name, KeyHint: t.KeyHint, ExpiresAt: t.ExpiresAt.UTC(), DaysLeft: timespec.DaysLeft(t.ExpiresAt, now), Scopes: scopes}
}

func (o *StatusOptions) printJSON(inUse accountStatus, others []accountStatus, now time.Time) error {
	c, u := inUse.cred, inUse.user
	doc := StatusJSON{Host: c.Host, Username: u.Username, Source: c.Source, Location: c.Location, Token: tokenJSON(u.Token, now), Accounts: []StatusAccountJSON{}}
	all := others
	if c.Source != cmdutil.SourceEnv {
		all = append([]accountStatus{inUse}, others...)
	}
	for _, a := range all {
		j := StatusAccountJSON{Username: a.cred.Username, Active: a.active, Source: a.cred.Source, Location: a.cred.Location, State: a.state}
		if a.user != nil {
			j.Username = a.user.Username
			j.Token = tokenJSON(a.user.Token, now)
		}
		doc.Accounts = append(doc.Accounts, j)
	}
	enc := json.NewEncoder(o.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// printAccount writes one account's block; mark adds "(active)" to the
// active one when the host has several.
func printAccount(out io.Writer, a accountStatus, mark bool, now time.Time) {
	name := a.cred.Username
	if a.user != nil {
		name = a.user.Username
	}
	if mark && a.active {
		name += " (active)"
	}
	fmt.Fprintf(out, "  Logged in as:  %s\n", name)
	fmt.Fprintf(out, "  Credential:    %s\n", a.cred.Location)
	switch a.state {
	case stateRejected:
		fmt.Fprintf(out, "  State:         rejected by the server (expired or revoked): log in again as %s\n", a.cred.Username)
		return
	case stateUnreadable:
		fmt.Fprintf(out, "  State:         could not read its secret: %v\n", a.err)
		return
	case stateUnchecked:
		fmt.Fprintf(out, "  State:         could not check: %v\n", a.err)
		return
	}
	if t := a.user.Token; t != nil {
		fmt.Fprintf(out, "  Token:         %s (%s, id %s)\n", t.Name, t.KeyHint, t.ID)
		fmt.Fprintf(out, "  Expires:       %s\n", timespec.Stamp(t.ExpiresAt, now, true))
		scopes := "none: it can only say who it is"
		if len(t.Scopes) > 0 {
			scopes = output.Sanitize(strings.Join(t.Scopes, " "))
		}
		fmt.Fprintf(out, "  Scopes:        %s\n", scopes)
	}
}
