package tokend

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/oidcverify"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
)

// Bounds of a provider's parts.
const (
	maxClientIDLen     = 512
	maxClientSecretLen = 4096
	maxSSOConditions   = 32
)

var ssoSecretFile = secretFlag{flag: "--client-secret-file", max: maxClientSecretLen,
	secret: "the client secret", fill: "the client secret the provider gave tokend", readErr: "read the client secret"}

// usernameClaims are the claims a provider's username may come from.
var usernameClaims = []string{"preferred_username", "email", "sub"}

type ssoAddOptions struct {
	issuer, clientID, secretFile, usernameClaim string
	allow, adminIf, scopes                      []string
	createUsers                                 bool
}

func newSSOCmd(e *env) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "sso",
		Short: "Manage the OpenID providers people sign in with (tokenctl auth login --web)",
		Long: `Add, list and delete single sign-on providers.

A provider is an OpenID Connect issuer (Okta, Entra ID, Google, Keycloak,
Dex, GitLab…) where tokend is registered as a confidential client with the
redirect URI https://TOKEND-HOST/login/callback. People then sign in with
"tokenctl auth login --web": the CLI shows a one-time code, the browser
confirms it on tokend and signs in at the provider, and the CLI stores a
login token. See docs/sso.md for each provider's recipe.

Providers are kept in the database, so every replica sees them; these
commands work on it directly and may run while tokend serves it.`,
		Example: `  tokend sso add corp --issuer https://login.example.com \
    --client-id tokend --client-secret-file /run/secrets/oidc \
    --username-claim email --allow email='*@example.com' --create-users
  tokend sso list
  tokend sso delete corp`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&database, "database", databaseDefault(e.getenv), databaseUsage)

	o := &ssoAddOptions{}
	add := &cobra.Command{
		Use:   "add NAME --issuer URL --client-id ID --client-secret-file FILE",
		Short: "Let people sign in through an OpenID provider",
		Long: `Add a single sign-on provider.

tokend discovers the provider at --issuer (its
/.well-known/openid-configuration), sends people there with the
authorization code flow and PKCE, and verifies the ID token it gets back:
signature by the provider's published keys, issuer, audience (--client-id),
expiry and nonce.

The username is the claim named by --username-claim (preferred_username,
email or sub). Each --allow KEY=GLOB must match for a person to sign in
(a claim that is a list, such as groups, matches when one element does;
'*' is any run of characters, '?' one). With --create-users a person with
no account gets one on first sign-in, marked as coming from NAME; without
it only existing users may sign in. --admin-if KEY=GLOB makes whoever
matches an administrator when they sign in. tokend asks for the scopes
openid, email and profile, and each --scope besides (Dex sends groups only
for the groups scope).

The client secret is read from --client-secret-file ("-" for stdin), never
from the command line, and is never printed.`,
		Example: `  tokend sso add corp --issuer https://corp.okta.com \
    --client-id 0oa1example --client-secret-file ./okta-secret \
    --username-claim email --allow email='*@example.com' --allow groups=eng \
    --admin-if groups=platform-admins --create-users`,
		Args: cmdargs.ExactArgs(1, "tokend sso add NAME --issuer URL --client-id ID --client-secret-file FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := o.provider(args[0])
			if err != nil {
				return err
			}
			if p.ClientSecret, err = ssoSecretFile.read(e, o.secretFile); err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.CreateSSOProvider(cmd.Context(), p)
			switch {
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("sso provider %s already exists; delete it first with tokend sso delete %s", p.Name, p.Name)
			case err != nil:
				return fmt.Errorf("add sso provider %s: %w", p.Name, err)
			}
			who := "existing users"
			if p.CreateUsers {
				who = "anyone (new users are created)"
			}
			fmt.Fprintf(e.stderr, "Added sso provider %s: %s, usernames from %s, %s may sign in.\n", p.Name, p.Issuer, p.UsernameClaim, who)
			return nil
		},
	}
	af := add.Flags()
	af.StringVar(&o.issuer, "issuer", "", "the provider's issuer URL, exactly as its ID tokens' iss (https)")
	af.StringVar(&o.clientID, "client-id", "", "tokend's client id at the provider")
	af.StringVar(&o.secretFile, "client-secret-file", "", `a file holding tokend's client secret ("-" for stdin)`)
	af.StringVar(&o.usernameClaim, "username-claim", "preferred_username", "the claim that is the username: preferred_username, email or sub")
	af.StringArrayVar(&o.allow, "allow", nil, "KEY=GLOB who may sign in, e.g. email=*@example.com or groups=eng; repeat (all must match)")
	af.StringArrayVar(&o.adminIf, "admin-if", nil, "KEY=GLOB that makes the person an administrator, e.g. groups=platform-admins; repeat (all must match)")
	af.StringArrayVar(&o.scopes, "scope", nil, "an OpenID scope to ask for besides openid, email and profile (e.g. groups for Dex); repeat for several")
	af.BoolVar(&o.createUsers, "create-users", false, "create a user on first sign-in (otherwise only existing users may sign in)")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List sso providers (a table on a terminal, one name per line otherwise)",
		Long: `List the single sign-on providers, by name.

On a terminal this is a table of NAME ISSUER CLIENT-ID USERNAME ALLOW
ADMIN-IF CREATE-USERS; piped, one name per line; -o table forces the table
and -o json gives an array with every field but the client secret, which
is never shown.`,
		Example: `  tokend sso list
  tokend sso list -o json`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listNamed(cmd.Context(), e, database, output, namedListing[store.SSOProvider]{
				what:   "sso providers",
				fetch:  store.Store.ListSSOProviders,
				name:   func(p store.SSOProvider) string { return p.Name },
				json:   writeSSOJSON,
				empty:  "No sso providers yet; add one with: tokend sso add NAME --issuer URL ...",
				header: "NAME\tISSUER\tCLIENT-ID\tUSERNAME\tALLOW\tADMIN-IF\tCREATE-USERS",
				row: func(p store.SSOProvider) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%t", p.Name, p.Issuer, p.ClientID, p.UsernameClaim,
						orDash(joinConds(p.Allow)), orDash(joinConds(p.AdminIf)), p.CreateUsers)
				},
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "", "output format: table or json (default: table on a terminal, names otherwise)")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an sso provider; sign-ins through it stop at once",
		Long: `Delete a single sign-on provider.

Sign-ins through it stop from the next request on. Users it created and
their tokens stay; remove them with tokend user delete if they must go.`,
		Example: `  tokend sso delete corp`,
		Args:    cmdargs.ExactArgs(1, "tokend sso delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return deleteNamed(cmd.Context(), e, database, "sso", "sso provider", args[0], store.Store.DeleteSSOProvider)
		},
	}
	cmd.AddCommand(add, list, del)
	return cmd
}

// provider checks the command line and returns the provider it describes,
// all but its secret. Every refusal is a usage error (exit 2).
func (o *ssoAddOptions) provider(name string) (store.SSOProvider, error) {
	p := store.SSOProvider{Name: name, Issuer: o.issuer, ClientID: o.clientID, UsernameClaim: o.usernameClaim,
		CreateUsers: o.createUsers, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if !trustNameRE.MatchString(name) {
		return p, usageErrorf("sso provider name %q is malformed: 1 to 64 lower-case letters, digits and . _ -, starting with a letter or digit (like corp)", text.Truncate(name, quoteLen))
	}
	if o.issuer == "" {
		return p, usageErrorf("--issuer is required: the provider's issuer URL, e.g. https://login.example.com")
	}
	if err := oidcverify.CheckIssuerURL(o.issuer); err != nil {
		return p, usageErrorf("--issuer: %s", err)
	}
	switch {
	case strings.TrimSpace(o.clientID) == "":
		return p, usageErrorf("--client-id is required: the client id the provider gave tokend")
	case len(o.clientID) > maxClientIDLen || hasControl(o.clientID):
		return p, usageErrorf("--client-id must be at most %d characters, with no control characters", maxClientIDLen)
	}
	if o.secretFile == "" {
		return p, usageErrorf("--client-secret-file is required: a file holding the client secret (or - for stdin); it is never taken on the command line")
	}
	okClaim := false
	for _, c := range usernameClaims {
		okClaim = okClaim || c == o.usernameClaim
	}
	if !okClaim {
		return p, usageErrorf("--username-claim must be one of %s, got %q", strings.Join(usernameClaims, ", "), text.Truncate(o.usernameClaim, quoteLen))
	}
	for _, sc := range o.scopes {
		if sc == "" || len(sc) > 128 || strings.ContainsFunc(sc, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
			return p, usageErrorf("--scope %q is not an OpenID scope: printable ASCII without spaces, quotes or backslashes (e.g. groups)", text.Truncate(sc, quoteLen))
		}
	}
	p.Scopes = store.NormalizeOIDCScopes(o.scopes)
	var err error
	if p.Allow, err = parseConditions("--allow", o.allow); err != nil {
		return p, err
	}
	if p.AdminIf, err = parseConditions("--admin-if", o.adminIf); err != nil {
		return p, err
	}
	return p, nil
}

// parseConditions reads KEY=GLOB flags.
func parseConditions(flag string, kvs []string) ([]store.ClaimMatch, error) {
	if len(kvs) > maxSSOConditions {
		return nil, usageErrorf("%d %s flags; at most %d", len(kvs), flag, maxSSOConditions)
	}
	out := []store.ClaimMatch{}
	for _, kv := range kvs {
		key, glob, ok := strings.Cut(kv, "=")
		switch {
		case !ok || key == "" || glob == "":
			return nil, usageErrorf("%s %q is not KEY=GLOB with both parts non-empty (e.g. %s groups=eng)", flag, text.Truncate(kv, quoteLen), flag)
		case len(key) > maxClaimKeyLen || len(glob) > maxClaimGlobLen:
			return nil, usageErrorf("%s %q is too long: KEY at most %d characters, GLOB at most %d", flag, text.Truncate(kv, quoteLen), maxClaimKeyLen, maxClaimGlobLen)
		case hasControl(key) || hasControl(glob) || strings.ContainsFunc(key, unicode.IsSpace):
			return nil, usageErrorf("%s %q: KEY must not contain spaces, and neither part control characters", flag, text.Truncate(kv, quoteLen))
		}
		out = append(out, store.ClaimMatch{Claim: key, Glob: glob})
	}
	return out, nil
}

func joinConds(cs []store.ClaimMatch) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Claim+"="+c.Glob)
	}
	return strings.Join(out, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ssoJSON is one provider in `tokend sso list -o json`; its fields and
// their order are stable. The client secret is not one of them.
type ssoJSON struct {
	Name          string      `json:"name"`
	Issuer        string      `json:"issuer"`
	ClientID      string      `json:"client_id"`
	UsernameClaim string      `json:"username_claim"`
	Scopes        []string    `json:"scopes"`
	Allow         []claimJSON `json:"allow"`
	AdminIf       []claimJSON `json:"admin_if"`
	CreateUsers   bool        `json:"create_users"`
	CreatedAt     time.Time   `json:"created_at"`
}

func writeSSOJSON(w io.Writer, ps []store.SSOProvider) error {
	out := make([]ssoJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, ssoJSON{Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, UsernameClaim: p.UsernameClaim,
			Scopes: append([]string{}, p.Scopes...), Allow: claimsJSON(p.Allow), AdminIf: claimsJSON(p.AdminIf), CreateUsers: p.CreateUsers, CreatedAt: p.CreatedAt.UTC()})
	}
	return writeJSON(w, out)
}
