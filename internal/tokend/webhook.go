package tokend

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/text"
	"github.com/tokenctl/tokenctl/internal/webhook"
)

// maxWebhookFile bounds what --secret-file may hold: a secret or a URL.
const maxWebhookFile = 4096

var webhookSecretFile = secretFlag{flag: "--secret-file", max: maxWebhookFile,
	secret: "the secret", fill: "the whsec_ secret", readErr: "read --secret-file"}

type webhookAddOptions struct {
	url, secretFile, format string
	events                  []string
}

func newWebhookCmd(e *env) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Manage the webhooks told about token and user events",
		Long: `Add, list, delete and test webhooks.

A webhook receives the events it names as they happen: token.created,
token.deleted, token.revoked_leaked (a leak report revoked the token),
token.expiring (7 days and again 1 day before a token expires, once each),
token.expired, the admin events user.created, user.disabled, user.enabled,
user.role_changed and user.deleted, and every other audit event type.
Each delivery is signed as the Standard Webhooks specification says
(webhook-id, webhook-timestamp and webhook-signature headers), so any
Standard Webhooks verifier checks it; --format slack posts a readable
message to a Slack incoming webhook instead. See docs/webhooks.md.

Deliveries leave from an outbox written with the event, by every running
tokend serve: at least once, retried with backoff for --webhook-give-up-after
(tokend serve), each under the same webhook-id so a receiver can drop a
repeat. Webhooks are kept in the database, so every replica delivers to
them; these commands work on it directly and may run while tokend serves it.`,
		Example: `  printf 'whsec_%s\n' "$(openssl rand -base64 32)" > hook.secret
  tokend webhook add ops --url https://hooks.example.com/tokend \
    --event token.revoked_leaked --event token.expiring --secret-file hook.secret
  tokend webhook test ops
  tokend webhook list
  tokend webhook delete ops`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&database, "database", databaseDefault(e.getenv), databaseUsage)

	o := &webhookAddOptions{}
	add := &cobra.Command{
		Use:   "add NAME --url URL --event TYPE... --secret-file FILE",
		Short: "Send events of the given types to a URL",
		Long: `Add a webhook.

--url is where events are posted: https, or http only to this machine
(localhost, 127.0.0.1, ::1). Redirects are not followed. Each --event names
a type to send (repeat it for several; see tokend webhook --help for the
types).

--secret-file holds the signing secret in the Standard Webhooks form:
whsec_ and the base64 of 24 to 64 random bytes ("-" reads it from stdin).
It is never taken on the command line and never printed; the receiver
keeps the same secret to verify deliveries.

With --format slack, --secret-file holds the Slack incoming webhook URL
instead (it is the credential, so it stays off the command line too) and
--url is not given; messages are one readable line each.`,
		Example: `  tokend webhook add ops --url https://hooks.example.com/tokend \
    --event token.revoked_leaked --event token.expiring --event token.expired \
    --secret-file /run/secrets/tokend-webhook
  tokend webhook add chat --format slack --event token.revoked_leaked \
    --secret-file /run/secrets/slack-webhook-url`,
		Args: cmdargs.ExactArgs(1, "tokend webhook add NAME --url URL --event TYPE... --secret-file FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := o.webhook(args[0])
			if err != nil {
				return err
			}
			content, err := webhookSecretFile.read(e, o.secretFile)
			if err != nil {
				return err
			}
			if w.Format == store.WebhookSlack {
				if err := webhook.CheckURL(content); err != nil {
					return usageErrorf("--secret-file must hold the Slack incoming webhook URL (https://hooks.slack.com/services/…) for --format slack")
				}
				w.URL = content
			} else {
				if err := webhook.CheckSecret(content); err != nil {
					return usageErrorf("--secret-file: %s", err)
				}
				w.Secret = content
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.CreateWebhook(cmd.Context(), w)
			switch {
			case errors.Is(err, store.ErrConflict):
				return fmt.Errorf("webhook %s already exists; delete it first with tokend webhook delete %s", w.Name, w.Name)
			case err != nil:
				return fmt.Errorf("add webhook %s: %w", w.Name, err)
			}
			fmt.Fprintf(e.stderr, "Added webhook %s: %s gets %s. Try it with: tokend webhook test %s\n",
				w.Name, displayURL(w), strings.Join(w.Events, ", "), w.Name)
			return nil
		},
	}
	af := add.Flags()
	af.StringVar(&o.url, "url", "", "where to post events: https (http only to loopback)")
	af.StringArrayVar(&o.events, "event", nil, "an event type to send, e.g. token.revoked_leaked; repeat for several")
	af.StringVar(&o.secretFile, "secret-file", "", `a file holding the whsec_ signing secret, or with --format slack the Slack webhook URL ("-" for stdin)`)
	af.StringVar(&o.format, "format", store.WebhookStandard, "standard (signed JSON) or slack (a readable message to a Slack incoming webhook)")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List webhooks and how their deliveries stand",
		Long: `List the webhooks, by name, with their delivery health.

On a terminal this is a table of NAME URL FORMAT EVENTS PENDING DELIVERED
FAILED LAST-ERROR; piped, one name per line; -o table forces the table and
-o json gives an array with every field. FAILED counts deliveries given up
after --webhook-give-up-after (tokend serve); LAST-ERROR is the latest
failed attempt's error. Secrets are never shown, nor a Slack webhook's
URL past its host.`,
		Example: `  tokend webhook list
  tokend webhook list -o json`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listNamed(cmd.Context(), e, database, output, namedListing[store.WebhookStatus]{
				what:   "webhooks",
				fetch:  store.Store.ListWebhooks,
				name:   func(w store.WebhookStatus) string { return w.Name },
				json:   writeWebhookJSON,
				empty:  "No webhooks yet; add one with: tokend webhook add NAME --url URL --event TYPE --secret-file FILE",
				header: "NAME\tURL\tFORMAT\tEVENTS\tPENDING\tDELIVERED\tFAILED\tLAST-ERROR",
				row: func(w store.WebhookStatus) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s", w.Name, displayURL(w.Webhook), w.Format, strings.Join(w.Events, ","),
						w.Pending, w.Delivered, w.Failed, orDash(lastError(w)))
				},
			})
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "", "output format: table or json (default: table on a terminal, names otherwise)")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a webhook and its undelivered events",
		Long: `Delete a webhook.

Nothing more is sent to it, including deliveries still pending; a delivery
already in flight on a replica finishes.`,
		Example: `  tokend webhook delete ops`,
		Args:    cmdargs.ExactArgs(1, "tokend webhook delete NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return deleteNamed(cmd.Context(), e, database, "webhook", "webhook", args[0], store.Store.DeleteWebhook)
		},
	}

	var timeout time.Duration
	test := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a signed test event to a webhook now and show the answer",
		Long: `Send one test event (type webhook.test) to a webhook, signed like any
other, and report whether the receiver accepted it (a 2xx answer). It goes
straight from this command, not through the outbox, and is not retried;
exit 1 when it was not accepted.`,
		Example: `  tokend webhook test ops`,
		Args:    cmdargs.ExactArgs(1, "tokend webhook test NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usageErrorf("--timeout must be a positive duration such as 10s, got %s", timeout)
			}
			st, err := openStore(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			w, err := st.WebhookByName(cmd.Context(), args[0])
			switch {
			case errors.Is(err, store.ErrNotFound):
				return noSuch("webhook", "webhook", args[0])
			case err != nil:
				return fmt.Errorf("test webhook %s: %w", args[0], err)
			}
			start := time.Now()
			if err := webhook.Test(cmd.Context(), w, webhook.NewClient(timeout), start); err != nil {
				return fmt.Errorf("webhook %s did not accept the test event: %w", w.Name, err)
			}
			fmt.Fprintf(e.stdout, "Webhook %s accepted the test event (%s).\n", w.Name, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	test.Flags().DurationVar(&timeout, "timeout", webhook.DefaultTimeout, "how long to wait for the receiver's answer")

	cmd.AddCommand(add, list, del, test)
	return cmd
}

// webhook checks the command line and returns the webhook it describes,
// all but what --secret-file holds. Every refusal is a usage error.
func (o *webhookAddOptions) webhook(name string) (store.Webhook, error) {
	w := store.Webhook{Name: name, URL: o.url, Format: o.format, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	if !trustNameRE.MatchString(name) {
		return w, usageErrorf("webhook name %q is malformed: 1 to 64 lower-case letters, digits and . _ -, starting with a letter or digit (like ops)", text.Truncate(name, quoteLen))
	}
	switch o.format {
	case store.WebhookStandard:
		if o.url == "" {
			return w, usageErrorf("--url is required: where to post events, e.g. https://hooks.example.com/tokend")
		}
		if err := webhook.CheckURL(o.url); err != nil {
			return w, usageErrorf("--url: %s", err)
		}
	case store.WebhookSlack:
		if o.url != "" {
			return w, usageErrorf("--url is not taken with --format slack: put the Slack webhook URL in --secret-file, since it is a credential")
		}
	default:
		return w, usageErrorf("--format must be standard or slack, got %q", text.Truncate(o.format, quoteLen))
	}
	if len(o.events) == 0 {
		return w, usageErrorf("--event is required, e.g. --event token.revoked_leaked; types: %s", strings.Join(api.EventTypes, ", "))
	}
	for _, ev := range o.events {
		if !slices.Contains(api.EventTypes, ev) {
			return w, usageErrorf("--event %q is not an event type; types: %s", text.Truncate(ev, quoteLen), strings.Join(api.EventTypes, ", "))
		}
	}
	w.Events = slices.Sorted(slices.Values(o.events))
	w.Events = slices.Compact(w.Events)
	if o.secretFile == "" {
		return w, usageErrorf("--secret-file is required: a file holding the signing secret (or - for stdin); it is never taken on the command line")
	}
	return w, nil
}

// displayURL is a webhook's URL as shown: a Slack webhook's path is its
// credential, so only the scheme and host are.
func displayURL(w store.Webhook) string {
	if w.Format != store.WebhookSlack {
		return w.URL
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		return "(hidden)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func lastError(w store.WebhookStatus) string {
	if w.LastError == "" {
		return ""
	}
	return w.LastErrorAt.UTC().Format(time.RFC3339) + " " + w.LastError
}

// webhookJSON is one webhook in `tokend webhook list -o json`; its fields
// and their order are stable. The secret is not one of them.
type webhookJSON struct {
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	Format      string     `json:"format"`
	Events      []string   `json:"events"`
	Pending     int        `json:"pending"`
	Delivered   int        `json:"delivered"`
	Failed      int        `json:"failed"`
	LastError   string     `json:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

func writeWebhookJSON(w io.Writer, ws []store.WebhookStatus) error {
	out := make([]webhookJSON, 0, len(ws))
	for _, h := range ws {
		j := webhookJSON{Name: h.Name, URL: displayURL(h.Webhook), Format: h.Format, Events: append([]string{}, h.Events...),
			Pending: h.Pending, Delivered: h.Delivered, Failed: h.Failed, LastError: h.LastError, CreatedAt: h.CreatedAt.UTC()}
		if !h.LastErrorAt.IsZero() {
			at := h.LastErrorAt.UTC()
			j.LastErrorAt = &at
		}
		out = append(out, j)
	}
	return writeJSON(w, out)
}
