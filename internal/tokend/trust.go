package tokend

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
	"github.com/tokenctl/tokenctl/internal/scope"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
)

// Bounds of a trust policy's parts: generous for real CI claims, small
// enough that a policy stays readable in a table.
const (
	minTrustLifetime = time.Minute
	maxTrustLifetime = 24 * time.Hour
	maxTrustClaims   = 32
	maxClaimKeyLen   = 128
	maxClaimGlobLen  = 512
	maxAudienceLen   = 512
)

var trustNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

type trustAddOptions struct {
	issuer, audience, user string
	claims, scopes         []string
	maxLifetime            time.Duration
}

func newTrustCmd(e *env) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Manage the trust policies that let CI jobs trade an OIDC identity for a token",
		Long: `Add, list and delete trust policies.

A trust policy lets a CI job with no stored secret exchange the OIDC
identity token its platform signs for it (GitHub Actions, GitLab CI,
Buildkite, CircleCI, a Kubernetes service account) for a short-lived
tokend token, through POST /v1/tokens/exchange. It names the issuer, the
audience the identity token must be for, the claims it must match (each a
glob: '*' any run of characters, '?' one), the user the token belongs to,
the scopes it may carry and how long it may live at most.

Policies are kept in the database, so every replica sees them; these
commands work on it directly and may run while tokend serves it.`,
		Example: `  tokend trust add gha-deploy \
    --issuer https://token.actions.githubusercontent.com \
    --audience tokend.example.com \
    --claim repository=acme/app --claim ref=refs/heads/main \
    --user deployer --scope deploy:write --max-lifetime 15m
  tokend trust list
  tokend trust delete gha-deploy`,
		Args: cmdargs.NoArgs, // a mistyped verb: "did you mean …?"
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&database, "database", databaseDefault(e.getenv), databaseUsage)

	o := &trustAddOptions{}
	add := &cobra.Command{
		Use:   "add NAME --issuer URL --audience AUD --claim KEY=GLOB... --user USER --scope SCOPE...",
		Short: "Trust identity tokens of an issuer whose claims match, for one user's scopes",
		Long: `Add a trust policy.

An identity token is exchanged under this policy when its iss equals
--issuer, one of its aud equals --audience and every --claim matches: the
claim named KEY (sub, repository, ref, environment, workflow_ref,
project_path or any other) matches GLOB, where '*' is any run of characters,
'?' exactly one, and everything else literal and case-sensitive. Give at
least one --claim that is not just '*': a shared issuer such as GitHub's
signs tokens for every repository on it.

The token minted belongs to --user, carries at most the --scope given
(built-in or defined with tokend scope add) and lives at most --max-lifetime
(1m to 24h).

NAME is 1 to 64 characters: lower-case letters, digits and . _ -, starting
with a letter or digit. The issuer is an https URL (http only on a loopback
address, for tests).`,
		Example: `  # GitHub Actions: deploys from main of acme/app only
  tokend trust add gha-deploy \
    --issuer https://token.actions.githubusercontent.com \
    --audience tokend.example.com \
    --claim repository=acme/app --claim ref=refs/heads/main \
    --user deployer --scope deploy:write

  # GitLab CI: any protected branch of group/project
  tokend trust add gitlab-deploy --issuer https://gitlab.com \
    --audience tokend.example.com \
    --claim project_path=group/project --claim ref_protected=true \
    --user deployer --scope deploy:write --max-lifetime 30m`,
		Args: cmdargs.ExactArgs(1, "tokend trust add NAME --issuer URL --audience AUD --claim KEY=GLOB --user USER --scope SCOPE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := o.policy(args[0])
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			u, err := st.UserByName(ctx, o.user)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no user %q; add one with tokend user add %s, or see tokend user list", o.user, o.user)
			case err != nil:
				return fmt.Errorf("add trust policy %s: %w", p.Name, err)
			}
			p.UserID = u.ID
			// "Never more than that user has": a user holds every built-in
			// scope and every application scope, so a scope is grantable
			// exactly when it exists.
			defined, err := st.ListScopes(ctx)
			if err != nil {
				return fmt.Errorf("add trust policy %s: %w", p.Name, err)
			}
			for _, sc := range p.Scopes {
				if !scope.IsBuiltin(sc) && !slices.ContainsFunc(defined, func(d store.Scope) bool { return d.Name == sc }) {
					return fmt.Errorf("scope %s is not defined; add it first with tokend scope add %s, or see tokend scope list", sc, sc)
				}
			}
			err = st.CreateTrustPolicy(ctx, p)
			switch {
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("trust policy %s already exists; delete it first with tokend trust delete %s", p.Name, p.Name)
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("user %q was deleted meanwhile; nothing was added", o.user)
			case err != nil:
				return fmt.Errorf("add trust policy %s: %w", p.Name, err)
			}
			fmt.Fprintf(e.stderr, "Added trust policy %s: tokens for %s with %s, living at most %s.\n",
				p.Name, o.user, strings.Join(p.Scopes, " "), fmtLifetime(p.MaxLifetime))
			return nil
		},
	}
	af := add.Flags()
	af.StringVar(&o.issuer, "issuer", "", "the identity token's iss, exactly (https URL)")
	af.StringVar(&o.audience, "audience", "", "one of the identity token's aud must equal it (tokenctl asks for the tokend host name by default, e.g. tokend.example.com)")
	af.StringArrayVar(&o.claims, "claim", nil, "KEY=GLOB a claim must match; repeat for several (all must match)")
	af.StringVar(&o.user, "user", "", "the user the minted tokens belong to")
	af.StringArrayVar(&o.scopes, "scope", nil, "a scope the minted tokens may carry; repeat for several")
	af.DurationVar(&o.maxLifetime, "max-lifetime", 15*time.Minute, "the longest a minted token may live (1m to 24h)")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List trust policies (a table on a terminal, tab-separated columns otherwise)",
		Long: `List the trust policies, by name, with every field an operator checks:
NAME ISSUER AUDIENCE CLAIMS USER SCOPES MAX-LIFETIME.

On a terminal this is an aligned table. Piped (or through kubectl exec or
docker exec without a terminal) it is the same columns separated by tabs,
after the same header line, so a person still reads it and cut -f still
splits it. -o table or -o tsv picks one; -o json gives an array with every
field. With no policies the header alone goes to stdout and a note saying
how to add one to stderr.`,
		Example: `  tokend trust list
  tokend trust list -o tsv | cut -f1,5
  tokend trust list -o json`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "tsv", "json"); err != nil {
				return err
			}
			ps, err := listAll(cmd.Context(), database, "trust policies", store.Store.ListTrustPolicies)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeTrustJSON(e, ps)
			}
			if output == "" {
				output = "tsv"
				if isTerminal(e.stdout) {
					output = "table"
				}
			}
			if len(ps) == 0 {
				fmt.Fprintln(e.stderr, "No trust policies yet; add one with: tokend trust add NAME --issuer URL ...")
			}
			return writeTrustTable(e.stdout, ps, output == "table")
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "", "output format: table, tsv or json (default: table on a terminal, tsv otherwise)")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a trust policy; exchanges under it stop at once",
		Long: `Delete a trust policy.

Identity tokens are no longer exchanged under it from the next request on.
Tokens already minted under it live on until they expire (at most the
policy's max lifetime); delete them with tokenctl if they must go now.`,
		Example: `  tokend trust delete gha-deploy`,
		Args:    cmdargs.ExactArgs(1, "tokend trust delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return deleteNamed(cmd.Context(), e, database, "trust", "trust policy", args[0], store.Store.DeleteTrustPolicy)
		},
	}
	cmd.AddCommand(add, list, del)
	return cmd
}

// policy checks the command line and returns the policy it describes, all
// but its user id. Every refusal is a usage error (exit 2).
func (o *trustAddOptions) policy(name string) (store.TrustPolicy, error) {
	p := store.TrustPolicy{Name: name, Issuer: o.issuer, Audience: o.audience, MaxLifetime: o.maxLifetime,
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if !trustNameRE.MatchString(name) {
		return p, usageErrorf("trust policy name %q is malformed: 1 to 64 lower-case letters, digits and . _ -, starting with a letter or digit (like gha-deploy)", text.Truncate(name, quoteLen))
	}
	if o.issuer == "" {
		return p, usageErrorf("--issuer is required: the identity token's iss, e.g. https://token.actions.githubusercontent.com")
	}
	if err := oidcverify.CheckIssuerURL(o.issuer); err != nil {
		return p, usageErrorf("--issuer: %s", err)
	}
	switch {
	case strings.TrimSpace(o.audience) == "":
		return p, usageErrorf("--audience is required: the aud the identity token must carry, e.g. tokend.example.com (what tokenctl --oidc asks for by default)")
	case len(o.audience) > maxAudienceLen:
		return p, usageErrorf("--audience is longer than %d characters", maxAudienceLen)
	case hasControl(o.audience):
		return p, usageErrorf("--audience must not contain control characters")
	}
	if len(o.claims) == 0 {
		return p, usageErrorf("give at least one --claim KEY=GLOB (e.g. --claim repository=acme/app); without one every token of the issuer would be trusted")
	}
	if len(o.claims) > maxTrustClaims {
		return p, usageErrorf("%d --claim flags; at most %d", len(o.claims), maxTrustClaims)
	}
	onlyStars := true
	for _, kv := range o.claims {
		key, glob, ok := strings.Cut(kv, "=")
		switch {
		case !ok || key == "" || glob == "":
			return p, usageErrorf("--claim %q is not KEY=GLOB with both parts non-empty (e.g. --claim ref=refs/heads/main)", text.Truncate(kv, quoteLen))
		case len(key) > maxClaimKeyLen || len(glob) > maxClaimGlobLen:
			return p, usageErrorf("--claim %q is too long: KEY at most %d characters, GLOB at most %d", text.Truncate(kv, quoteLen), maxClaimKeyLen, maxClaimGlobLen)
		case hasControl(key) || hasControl(glob) || strings.ContainsFunc(key, unicode.IsSpace):
			return p, usageErrorf("--claim %q: KEY must not contain spaces, and neither part control characters", text.Truncate(kv, quoteLen))
		}
		if strings.Trim(glob, "*") != "" {
			onlyStars = false
		}
		p.Claims = append(p.Claims, store.ClaimMatch{Claim: key, Glob: glob})
	}
	if onlyStars {
		return p, usageErrorf("every --claim glob is just '*', which matches every identity token of the issuer (a shared issuer like GitHub's signs them for every repository on it); pin at least one claim, e.g. --claim repository=acme/app")
	}
	if o.user == "" {
		return p, usageErrorf("--user is required: the user the minted tokens belong to")
	}
	if len(o.scopes) == 0 {
		return p, usageErrorf("give at least one --scope the minted tokens may carry (e.g. --scope deploy:write)")
	}
	for _, sc := range o.scopes {
		if err := scope.Valid(sc); err != nil {
			return p, usageErrorf("--scope: %s", err)
		}
	}
	p.Scopes = scope.NewSet(o.scopes...)
	if o.maxLifetime < minTrustLifetime || o.maxLifetime > maxTrustLifetime {
		return p, usageErrorf("--max-lifetime %s is outside 1m to 24h; a CI token should die with its job", o.maxLifetime)
	}
	if o.maxLifetime%time.Second != 0 {
		return p, usageErrorf("--max-lifetime %s is not a whole number of seconds", o.maxLifetime)
	}
	return p, nil
}

// writeTrustTable writes a header and one line per policy: aligned when
// aligned, else separated by single tabs (no field holds a tab: every part
// is checked for control characters when added).
func writeTrustTable(w io.Writer, ps []store.TrustPolicy, aligned bool) error {
	out := w
	var tw *tabwriter.Writer
	if aligned {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
	}
	fmt.Fprintln(out, "NAME\tISSUER\tAUDIENCE\tCLAIMS\tUSER\tSCOPES\tMAX-LIFETIME")
	for _, p := range ps {
		var claims []string
		for _, c := range p.Claims {
			claims = append(claims, c.Claim+"="+c.Glob)
		}
		fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Issuer, p.Audience,
			strings.Join(claims, " "), p.Username, p.Scopes.String(), fmtLifetime(p.MaxLifetime))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// trustJSON is one policy in `tokend trust list -o json`; its fields and
// their order are stable.
type trustJSON struct {
	Name               string      `json:"name"`
	Issuer             string      `json:"issuer"`
	Audience           string      `json:"audience"`
	Claims             []claimJSON `json:"claims"`
	User               string      `json:"user"`
	Scopes             []string    `json:"scopes"`
	MaxLifetimeSeconds int64       `json:"max_lifetime_seconds"`
	CreatedAt          time.Time   `json:"created_at"`
}

type claimJSON struct {
	Claim string `json:"claim"`
	Glob  string `json:"glob"`
}

// claimsJSON is cs as -o json shows it: [] rather than null when empty.
func claimsJSON(cs []store.ClaimMatch) []claimJSON {
	out := make([]claimJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, claimJSON(c))
	}
	return out
}

func writeTrustJSON(e *env, ps []store.TrustPolicy) error {
	out := make([]trustJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, trustJSON{Name: p.Name, Issuer: p.Issuer, Audience: p.Audience, Claims: claimsJSON(p.Claims),
			User: p.Username, Scopes: append([]string{}, p.Scopes...), MaxLifetimeSeconds: int64(p.MaxLifetime / time.Second),
			CreatedAt: p.CreatedAt.UTC()})
	}
	return writeJSON(e.stdout, out)
}

// fmtLifetime writes whole hours and minutes the way they are typed
// (15m, 1h, 1h30m) rather than time.Duration's 15m0s.
func fmtLifetime(d time.Duration) string {
	s := d.String()
	if d%time.Minute == 0 {
		s = strings.TrimSuffix(s, "0s")
		if d%time.Hour == 0 {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	return s
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// quoteLen bounds what a refusal quotes back of the input.
const quoteLen = 80
