package cmdutil

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/text"
)

// Explain is the one place an error becomes what tokenctl prints: one line
// that says what happened and what to do, and the exit code. The root
// command calls it once for every command, so the same refusal from the
// server reads and exits the same whichever command met it. msg is ""
// when the command has already said everything (ErrSilent, ExitCodeError).
//
// A server's refusal (*client.APIError) is rewritten by its problem code;
// the context a command wrapped around it ("list tokens: …") stays. f
// may be nil or partly filled (tests); it only names the host and whether
// the credential came from TOKENCTL_TOKEN.
func Explain(err error, f *Factory) (msg string, code int) {
	if err == nil {
		return "", ExitOK
	}
	code = ExitCode(err)
	var ce *ExitCodeError
	if errors.Is(err, ErrSilent) || errors.As(err, &ce) {
		return "", code
	}
	return text.OneLine(explain(err, f)), code
}

// explain is Explain's message.
func explain(err error, f *Factory) string {
	var limited *client.SignInLimitedError
	if errors.As(err, &limited) {
		// Said as it is, whatever the command wrapped around it.
		return limited.Error()
	}
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	var authErr *AuthError
	if errors.As(err, &authErr) {
		return err.Error() // the command already said what happened
	}
	if ae.Status == http.StatusUnauthorized && ae.Code() != api.CodeSubjectTokenRejected {
		// Whatever the command was doing, the one thing to do is log in.
		return rejectedCredential(ae, f)
	}
	line := refusal(ae)
	if line == "" {
		return err.Error()
	}
	// Keep the command's context around the server's refusal.
	if s := err.Error(); strings.Contains(s, ae.Error()) {
		return strings.Replace(s, ae.Error(), line, 1)
	}
	return line
}

// problemExit is the exit code of a server's refusal: by its problem code,
// else by its status.
func problemExit(ae *client.APIError) int {
	switch ae.Code() {
	case api.CodeUnauthorized, api.CodeSubjectTokenRejected,
		// "This credential may not do that": the remedy is another
		// credential, as for a rejected one.
		api.CodeInsufficientScope, api.CodeExceedsParent,
		api.CodeNoMatchingPolicy, api.CodeExceedsPolicy, api.CodeAdminRequired,
		// A browser sign-in that was refused or ran out: log in again.
		api.CodeAccessDenied, api.CodeExpiredToken:
		return ExitAuth
	case api.CodeBadRequest, api.CodeInvalidJSON, api.CodeValidation,
		api.CodeBodyTooLarge, api.CodeIdempotencyMismatch, api.CodeNotAToken, api.CodeLifetimeCapped:
		return ExitUsage
	case api.CodeNotFound, api.CodeMethodNotAllowed, api.CodeUnsupportedMedia,
		api.CodeTokenExpired, api.CodeTokenLimitReached, api.CodeUserExists,
		api.CodeRateLimited, api.CodeInternal, api.CodeUnavailable,
		// auth login --web's poll loop handles these; met anywhere else
		// they are the server's business.
		api.CodeAuthorizationPending, api.CodeSlowDown, api.CodeSSONotConfigured:
		return ExitError
	}
	switch ae.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitAuth
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		return ExitUsage
	}
	return ExitError
}

// rejectedCredential is the line for a 401: log in again, or fix
// TOKENCTL_TOKEN.
func rejectedCredential(ae *client.APIError, f *Factory) string {
	host := ae.Host
	if f != nil && f.Host != nil {
		if h, err := f.Host(); err == nil {
			host = h
		}
	}
	if f != nil && f.Credential != nil {
		if c, err := f.Credential(); err == nil && c.Source == SourceEnv {
			return fmt.Sprintf("the token in TOKENCTL_TOKEN was rejected by %s (expired or revoked): set it to a valid token, or unset it and run `tokenctl auth login --host %s`", host, host)
		}
	}
	return fmt.Sprintf("credential for %s was rejected (expired or revoked): run `tokenctl auth login --host %s`", host, host)
}

// refusal is the line for a server's refusal by its problem code, or ""
// to keep the client's own ("HOST: detail (HTTP n)"). Where the server's
// detail already says what to do, it is used alone: adding advice of our
// own would say the same thing twice.
func refusal(ae *client.APIError) string {
	p := ae.Problem
	if p == nil {
		return ""
	}
	detail := text.OneLine(p.Detail)
	switch p.Code {
	case api.CodeInsufficientScope:
		return lacksScope(p)
	case api.CodeSubjectTokenRejected:
		// tokend's detail starts "the identity token was refused
		// (reason)"; another server's may not name the reason.
		if p.Reason != "" && !strings.Contains(detail, "("+p.Reason+")") {
			detail = strings.TrimPrefix("the identity token was refused ("+p.Reason+"): "+detail, ": ")
		}
		return ae.Host + " refused the exchange: " + detail
	case api.CodeExceedsParent:
		if detail == "" {
			detail = "a token can only mint tokens with its own scopes that expire no later than itself"
		}
		return ae.Host + " refused: " + detail
	case api.CodeNoMatchingPolicy:
		if detail == "" {
			detail = "no trust policy accepts this identity"
		}
		if !strings.Contains(detail, "tokend trust") {
			detail += "; ask the server's operator to check its trust policies (`tokend trust list`)"
		}
		return ae.Host + " refused the exchange: " + detail
	case api.CodeExceedsPolicy:
		// tokend's detail says what to ask for instead.
		if detail == "" {
			detail = "the request asks for more than the trust policy allows; ask the server's operator what it allows (`tokend trust list`)"
		}
		return ae.Host + " refused the exchange: " + detail
	case api.CodeTokenLimitReached:
		if detail == "" {
			detail = "you have the most live tokens this server allows"
		}
		if !strings.Contains(detail, "tokenctl token delete") {
			detail += "; delete those you no longer need (`tokenctl token delete --expired`)"
		}
		return ae.Host + " refused: " + detail
	case api.CodeAdminRequired:
		// One line: what is needed, whoever's credential this is.
		if strings.Contains(detail, "may be carried only") {
			return ae.Host + " refused: " + detail
		}
		return "this needs an admin's token: " + ae.Host + " says " + strings.TrimPrefix(detail, "this needs an admin's token; ") + "; log in as an admin (`tokenctl auth login`)"
	case api.CodeTokenExpired:
		// The server's detail advises in API terms; say it in ours.
		return "the token has expired and cannot be rotated: create a new one with `tokenctl token create NAME`"
	case api.CodeValidation:
		if len(p.UnknownScopes) > 0 {
			return fmt.Sprintf("%s does not define the scope(s) %s: `tokenctl scope list` shows the ones it does", ae.Host, strings.Join(p.UnknownScopes, " "))
		}
	}
	return ""
}

// lacksScope names what the token is missing, not everything the
// operation needs, and how to get it.
func lacksScope(p *api.Problem) string {
	var missing []string
	for _, r := range p.RequiredScopes {
		if !slices.Contains(p.TokenScopes, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		missing = p.RequiredScopes
	}
	need, ask := strings.Join(missing, " "), strings.Join(missing, ",")
	if need == "" {
		need, ask = "the scope this needs", "SCOPE"
	}
	made := "no scopes"
	if len(p.TokenScopes) > 0 {
		made = strings.Join(p.TokenScopes, " ")
	}
	return fmt.Sprintf("this token lacks %s (it was made with: %s); log in with a broader one or ask for --scope %s", need, made, ask)
}
