package tokend

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/atomicfile"
	"github.com/tokenctl/tokenctl/internal/cmdargs"
	"github.com/tokenctl/tokenctl/internal/console"
	"github.com/tokenctl/tokenctl/internal/exitcode"
	"github.com/tokenctl/tokenctl/internal/loginweb"
	"github.com/tokenctl/tokenctl/internal/password"
	"github.com/tokenctl/tokenctl/internal/secret"
	"github.com/tokenctl/tokenctl/internal/server"
	"github.com/tokenctl/tokenctl/internal/store"
	"github.com/tokenctl/tokenctl/internal/timespec"
	"github.com/tokenctl/tokenctl/internal/version"
	"github.com/tokenctl/tokenctl/internal/webhook"
)

// DefaultDrainTimeout is how long in-flight requests get to finish on
// SIGTERM before their connections are cut.
const DefaultDrainTimeout = 30 * time.Second

const devDir = ".tokend-dev"

type serveOptions struct {
	addr        string
	addrFile    string
	database    string
	tokenPrefix string
	maxLifetime time.Duration
	defaultLife time.Duration
	// defaultLifeSet: --default-lifetime was given, so it must fit under
	// --max-lifetime rather than be capped by it.
	defaultLifeSet bool
	loginLife      time.Duration
	loginLifeSet   bool // likewise for --login-lifetime
	drain          time.Duration
	tlsCert        string
	tlsKey         string
	dev            bool
	trustProxy     bool
	logFormat      string
	maxTokens      int
	passwordChecks int
	auditRetention time.Duration
	pprofAddr      string
	// expireUnused is --expire-unused-after as given ("90d"); unusedAfter
	// is what it parses to, 0 for off.
	expireUnused   string
	unusedAfter    time.Duration
	passwordLogin  bool
	publicURL      string
	githubKeysURLs []string
	devicePoll     time.Duration
	deviceStarts   int
	maxPending     int
	consoleIdle    time.Duration
	consoleLife    time.Duration
	webhookTimeout time.Duration
	webhookGiveUp  time.Duration
}

func newServeCmd(e *env) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the token API",
		Long: `Serve token API v1 over HTTP, or HTTPS with --tls-cert and --tls-key.

The database (--database or $TOKEND_DATABASE) must exist: create it with
"tokend user add NAME", which also adds the first user. serve refuses a
missing file rather than start on an empty database (--dev creates its own).
It is migrated to the current schema on start.

Tokens are minted as --token-prefix plus 36 random and checksum
characters; only their SHA-256 digest is stored. A token may live from one
minute up to --max-lifetime; a create that names no lifetime gets
--default-lifetime. GET /v1/server tells clients these limits without a
credential, and --login-lifetime: what tokenctl auth login asks for when
its user names no lifetime.

Failed authentication is rate limited per client address, and only
failing requests are refused: past 10 a minute a bad token gets 429 where
it would get 401, while valid tokens pass. Wrong passwords are limited per
account and address (5 a minute) and per address (30). Behind a reverse
proxy that sets X-Forwarded-For, pass --trust-proxy so each client is
counted on its own. Password checks (argon2id, 19 MiB each) run one per
core at once (--password-checks); four times as many wait and the rest get
503 with Retry-After. One log line per request goes to stderr, never with
a secret.

Every token created, rotated, deleted or revoked as leaked, and every
failed sign-in to an account, is kept as an audit event (GET /v1/events)
for --audit-retention; older events are pruned hourly in small batches.
With --expire-unused-after (such as 90d), tokens neither used nor created
in that long are expired hourly, in small batches, each with a
token.expired_unused event in its owner's trail.
Webhooks added with "tokend webhook add" get their events from every
replica: each delivery waits at most --webhook-timeout for an answer and is
retried with growing pauses until --webhook-give-up-after has passed since
the event. Tokens 7 days and 1 day from expiry, and just expired, are
looked for at start and every minute, for token.expiring and token.expired.
SIGTERM or Ctrl-C stops accepting connections, lets in-flight requests
finish for up to --drain-timeout, then closes the connections still open
(a client still sending its body gets cut off) and exits 0.

People sign in through the browser and the organisation's OpenID provider
(tokenctl auth login --web) once a provider is added with "tokend sso add";
the pages live under /login/. --password-login=false refuses passwords on
every route, for SSO-only deployments (tokend user add still works, for a
break-glass account once it is turned back on). --public-url is where
browsers reach tokend (the provider's redirect URI is it plus
/login/callback); left out, it is taken from each request.
tokenctl polls for the browser's answer every --device-poll-interval
(default 5s); polling sooner gets slow_down and 5 seconds more to wait.
Sign-ins started are limited to --device-starts-per-minute per address
(default 30; past it 429) and --max-pending-device-codes waiting at once
(default 10,000; past it 503). Failed sign-ins, including those of people
with no account here and provider errors, are audit events (admins see
them all).

The token console, for people in a browser, is served at / (sign in with
a provider or, with --password-login, a password; add, list, rotate and
delete tokens; activity; admin). Its sessions end after
--console-idle-timeout without a request and --console-session-lifetime
after sign-in.

--dev keeps its database under ./` + devDir + `, gives the user "dev" a new random
password on every start and prints the tokenctl login line to paste.`,
		Example: `  tokend serve --addr 127.0.0.1:8080 --database /var/lib/tokend/tokend.db
  tokend serve --dev                                   # local playground with a dev user
  tokend serve --addr 127.0.0.1:0 --addr-file url.txt  # pick a free port, write the URL`,
		Args: cmdargs.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.dev && !cmd.Flags().Changed("database") && e.getenv("TOKEND_DATABASE") == "" {
				o.database = filepath.Join(devDir, "tokend.db")
			}
			o.defaultLifeSet = cmd.Flags().Changed("default-lifetime")
			o.loginLifeSet = cmd.Flags().Changed("login-lifetime")
			return serve(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.addrFile, "addr-file", "", "after listening, write the base URL to this file")
	f.StringVar(&o.database, "database", databaseDefault(e.getenv), databaseUsage)
	f.StringVar(&o.tokenPrefix, "token-prefix", secret.DefaultPrefix, "prefix of every token minted (2-16 of [A-Za-z0-9_], ending in '_')")
	f.DurationVar(&o.maxLifetime, "max-lifetime", server.DefaultMaxLifetime, "longest lifetime a token may be given")
	f.DurationVar(&o.defaultLife, "default-lifetime", server.DefaultTokenLifetime, "lifetime of a token created without one (at most --max-lifetime)")
	f.DurationVar(&o.loginLife, "login-lifetime", api.DefaultLoginLifetime, "lifetime clients' password logins ask for by default (GET /v1/server; at most --max-lifetime)")
	f.DurationVar(&o.drain, "drain-timeout", DefaultDrainTimeout, "on SIGTERM, how long in-flight requests may take before their connections are closed")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); needs --tls-key")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM); needs --tls-cert")
	f.BoolVar(&o.dev, "dev", false, "development mode: database under ./"+devDir+", a 'dev' user with a fresh random password")
	f.BoolVar(&o.trustProxy, "trust-proxy", false, "take the client address from the last X-Forwarded-For entry (only behind one proxy that adds it)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.IntVar(&o.maxTokens, "max-tokens-per-user", server.DefaultMaxTokensPerUser, "most live (unexpired) tokens one user may hold; the next create is refused")
	f.IntVar(&o.passwordChecks, "password-checks", 0, "most password checks (argon2id, 19 MiB each) run at once; 0 means one per core (GOMAXPROCS)")
	f.DurationVar(&o.auditRetention, "audit-retention", DefaultAuditRetention, "how long audit events are kept (at least 1h; default 400 days)")
	f.StringVar(&o.expireUnused, "expire-unused-after", "", "expire tokens unused this long (such as 90d; m, h, d, w units); off when empty")
	f.BoolVar(&o.passwordLogin, "password-login", true, "accept usernames and passwords (false: sign-in through an SSO provider only)")
	f.DurationVar(&o.devicePoll, "device-poll-interval", server.DevicePollInterval, "least time between two polls of a browser sign-in's device code (whole seconds, 1s to 30s); sent to tokenctl as the device grant's interval")
	f.IntVar(&o.deviceStarts, "device-starts-per-minute", server.DefaultDeviceStarts, "most browser sign-ins (POST /v1/auth/device) one address may start a minute; past it 429")
	f.IntVar(&o.maxPending, "max-pending-device-codes", server.DefaultMaxPendingDeviceCodes, "most browser sign-ins waiting for a person at once, from all addresses; past it a start gets 503")
	f.StringVar(&o.publicURL, "public-url", "", "where browsers and clients reach tokend, e.g. https://tokend.example.com (default: taken from each request)")
	f.StringArrayVar(&o.githubKeysURLs, "github-keys-url", nil, "accept GitHub secret-scanning reports signed by the keys listed at this URL (https://api.github.com/meta/public_keys/secret_scanning; repeat for each GitHub Enterprise Server); off when not given")
	f.DurationVar(&o.consoleIdle, "console-idle-timeout", console.DefaultIdleTimeout, "sign a token console session out after this long without a request")
	f.DurationVar(&o.consoleLife, "console-session-lifetime", console.DefaultSessionLifetime, "sign a token console session out this long after sign-in, however busy")
	f.DurationVar(&o.webhookTimeout, "webhook-timeout", webhook.DefaultTimeout, "how long a webhook delivery waits for the receiver's answer")
	f.DurationVar(&o.webhookGiveUp, "webhook-give-up-after", webhook.DefaultGiveUpAfter, "how long after an event its webhook deliveries are retried before they are given up (recorded in tokend webhook list)")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback host:port; off when empty")
	return cmd
}

func (o *serveOptions) validate() (server.Config, error) {
	cfg := server.Config{TokenPrefix: o.tokenPrefix, MaxLifetime: o.maxLifetime, DefaultLifetime: o.defaultLife,
		DefaultLoginLifetime: o.loginLife, TrustProxy: o.trustProxy, MaxTokensPerUser: o.maxTokens,
		PasswordChecks: o.passwordChecks, DisablePasswordLogin: !o.passwordLogin, PublicURL: strings.TrimSuffix(o.publicURL, "/"),
		GitHubKeysURLs: o.githubKeysURLs, DevicePollInterval: o.devicePoll,
		DeviceStarts: o.deviceStarts, MaxPendingDeviceCodes: o.maxPending}
	if o.publicURL != "" {
		if u, err := url.Parse(o.publicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return cfg, usageErrorf("--public-url must be a scheme and host such as https://tokend.example.com, got %q", o.publicURL)
		}
	}
	// The server's own checks, with their messages; a zero or negative
	// duration would otherwise quietly become the default.
	if o.maxLifetime <= 0 || o.defaultLife <= 0 || o.loginLife <= 0 {
		return cfg, usageErrorf("--max-lifetime, --default-lifetime and --login-lifetime must be positive durations such as 720h")
	}
	if o.devicePoll <= 0 {
		return cfg, usageErrorf("--device-poll-interval must be whole seconds from 1s to 30s, such as 5s, got %s", o.devicePoll)
	}
	if !o.defaultLifeSet {
		cfg.DefaultLifetime = 0 // the server's default, capped by --max-lifetime
	}
	if !o.loginLifeSet {
		cfg.DefaultLoginLifetime = 0 // likewise
	}
	if err := cfg.Validate(); err != nil {
		flag := map[string]string{"TokenPrefix": "--token-prefix", "MaxLifetime": "--max-lifetime", "DefaultLifetime": "--default-lifetime",
			"DefaultLoginLifetime": "--login-lifetime", "DevicePollInterval": "--device-poll-interval"}
		var ce *server.ConfigError
		if errors.As(err, &ce) && flag[ce.Field] != "" {
			return cfg, usageErrorf("%s: %w", flag[ce.Field], ce.Err)
		}
		return cfg, &exitcode.UsageError{Err: err}
	}
	for _, k := range o.githubKeysURLs {
		if u, err := url.Parse(k); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, usageErrorf("--github-keys-url must be an http(s) URL such as https://api.github.com/meta/public_keys/secret_scanning, got %q", k)
		}
	}
	if o.maxTokens < 1 {
		return cfg, usageErrorf("--max-tokens-per-user must be at least 1, got %d", o.maxTokens)
	}
	// The server would quietly take its default for 0 or less.
	if o.deviceStarts < 1 {
		return cfg, usageErrorf("--device-starts-per-minute must be at least 1, such as 30, got %d", o.deviceStarts)
	}
	if o.maxPending < 1 {
		return cfg, usageErrorf("--max-pending-device-codes must be at least 1, such as 10000, got %d", o.maxPending)
	}
	if o.passwordChecks < 0 {
		return cfg, usageErrorf("--password-checks must be 0 (one per core) or more, got %d", o.passwordChecks)
	}
	if o.consoleIdle < time.Minute || o.consoleLife < time.Minute {
		return cfg, usageErrorf("--console-idle-timeout and --console-session-lifetime must be at least 1m, such as 30m and 12h")
	}
	if o.drain <= 0 {
		return cfg, usageErrorf("--drain-timeout must be a positive duration such as 30s, got %s", o.drain)
	}
	if o.webhookTimeout < time.Second || o.webhookTimeout > 5*time.Minute {
		return cfg, usageErrorf("--webhook-timeout must be between 1s and 5m, such as 10s, got %s", o.webhookTimeout)
	}
	if o.webhookGiveUp < time.Minute {
		return cfg, usageErrorf("--webhook-give-up-after must be at least 1m, such as 72h, got %s", o.webhookGiveUp)
	}
	if o.auditRetention < time.Hour {
		return cfg, usageErrorf("--audit-retention must be at least 1h, such as 9600h (400 days), got %s", o.auditRetention)
	}
	if o.expireUnused != "" {
		d, err := timespec.ParseDuration(o.expireUnused)
		if err != nil {
			return cfg, usageErrorf("--expire-unused-after: %w", err)
		}
		if d < 24*time.Hour {
			return cfg, usageErrorf("--expire-unused-after must be at least 1d, such as 90d, got %s", o.expireUnused)
		}
		o.unusedAfter = d
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return cfg, usageErrorf("--tls-cert and --tls-key go together; give both or neither")
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return cfg, usageErrorf("--log-format must be text or json, got %q", o.logFormat)
	}
	if o.pprofAddr != "" {
		if err := checkPprofAddr(o.pprofAddr); err != nil {
			return cfg, err
		}
	}
	if err := checkDatabase(o.database); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func serve(ctx context.Context, e *env, o *serveOptions) error {
	cfg, err := o.validate()
	if err != nil {
		return err
	}
	logger := newLogger(e.stderr, o.logFormat)

	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	if o.dev {
		if path, _ := sqlitePath(o.database); filepath.Dir(path) != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return fmt.Errorf("create dev database folder: %w", err)
			}
		}
	}
	open := openExistingStore
	if o.dev {
		open = openStore // a playground may start from nothing
	}
	st, err := open(ctx, o.database)
	if err != nil {
		return err
	}
	defer st.Close()

	var devPassword string
	if o.dev {
		if devPassword, err = resetDevUser(ctx, st); err != nil {
			return err
		}
	}

	// Expiry notices due now are recorded before the first request, so a
	// restart never leaves a window where they are owed.
	noteExpiries(ctx, st, time.Now(), logger)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	url := baseURL(ln.Addr(), tlsCfg != nil)

	if tlsCfg == nil {
		// net/http's own refusals (malformed requests) as problem+json too.
		ln = server.ProblemListener(ln)
	}
	srv := &http.Server{
		Handler: handler(cfg, st, logger, tlsCfg != nil, consoleTimeouts{idle: o.consoleIdle, life: o.consoleLife}),
		// "OPTIONS *" reaches the API (a 404 problem) instead of net/http's
		// bare 200 that the contract does not know.
		DisableGeneralOptionsHandler: true,
		TLSConfig:                    tlsCfg,
		ReadHeaderTimeout:            10 * time.Second,
		ReadTimeout:                  time.Minute,
		WriteTimeout:                 time.Minute,
		IdleTimeout:                  2 * time.Minute,
		MaxHeaderBytes:               64 << 10,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("tokend listening", "url", url, "version", version.String(), "database", databaseName(o.database))
	if o.dev {
		// Printing a password is acceptable only here: --dev is a local
		// playground and this goes to the developer's own terminal.
		fmt.Fprintf(e.stderr, "\ntokend dev mode: user %q has a new random password (earlier dev tokens were removed).\nLog in with:\n\n  printf '%%s\\n' '%s' | tokenctl auth login --host %s --username dev --password-stdin\n\nor open the token console at %s/ and sign in as dev with that password.\n\n",
			"dev", devPassword, url, url)
	}
	// The file comes last: a script (or test) that waits for it finds
	// everything above already said.
	if o.addrFile != "" {
		// Atomic, so a script polling for the file never reads half a URL.
		if err := atomicfile.Write(o.addrFile, []byte(url+"\n"), 0o644); err != nil {
			return fmt.Errorf("write --addr-file: %w", err)
		}
	}

	if o.pprofAddr != "" {
		stop, err := startPprof(o.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	// The pruner stops, and is waited for, before the store closes.
	pctx, stopPruner := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		runPruner(pctx, st, o.auditRetention, pruneInterval, time.Now, logger)
	}()
	defer func() { stopPruner(); <-pruned }()
	if o.unusedAfter > 0 {
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			runUnusedSweeper(pctx, st, o.unusedAfter, pruneInterval, time.Now, logger)
		}()
		defer func() { stopPruner(); <-swept }()
	}

	expiries := make(chan struct{})
	go func() {
		defer close(expiries)
		runExpirySweeper(pctx, st, expirySweepInterval, time.Now, logger)
	}()
	defer func() { stopPruner(); <-expiries }()
	// Deliveries in flight get a short grace to finish, and are recorded,
	// before the store closes (webhook.DefaultShutdownGrace).
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		webhook.NewWorker(webhook.Config{Store: st, Owner: workerName(), Timeout: o.webhookTimeout,
			GiveUpAfter: o.webhookGiveUp, Logger: logger}).Run(pctx)
	}()
	defer func() { stopPruner(); <-delivered }()

	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down; draining in-flight requests", "timeout", o.drain)
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("graceful shutdown: %w", err)
		}
		// What could finish has finished; a client still trickling its
		// body (its read timeout outlives the drain) is cut off, and that
		// is the documented end of a drain, not a failure.
		logger.Warn("drain window over; closing the connections still open", "timeout", o.drain)
		if err := srv.Close(); err != nil {
			return fmt.Errorf("close connections: %w", err)
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logTokenCache(logger, st)
	logger.Info("stopped")
	return nil
}

// resetDevUser (re)creates user "dev" with a fresh random password. The
// store keeps no plaintext, so an old password cannot be shown again.
func resetDevUser(ctx context.Context, st store.Store) (string, error) {
	if err := st.DeleteUser(ctx, "dev"); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("reset dev user: %w", err)
	}
	pw := rand.Text()
	hash, err := password.Hash(pw)
	if err != nil {
		return "", fmt.Errorf("hash dev password: %w", err)
	}
	now := time.Now()
	if err := st.CreateUser(ctx, store.User{ID: store.NewID(now), Username: "dev", PasswordHash: hash, CreatedAt: now.UTC()}); err != nil {
		return "", fmt.Errorf("create dev user: %w", err)
	}
	return pw, nil
}

// baseURL is how clients reach a listener: an unspecified host (":8080",
// "0.0.0.0") is reached through loopback.
func baseURL(a net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return scheme + "://" + a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		// Go listens dual-stack on an unspecified address, so IPv4
		// loopback always works.
		ip = net.IPv4(127, 0, 0, 1)
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port)))
}

// consoleTimeouts are the console session's limits (--console-*).
type consoleTimeouts struct{ idle, life time.Duration }

// handler is the API with the browser pages beside it: the sign-in pages
// under /login/ and the token console at / (console.Owns names its
// paths). They share the store, the per-address failure budget's rules
// and, for the console, the API's own handlers.
func handler(cfg server.Config, st store.Store, logger *slog.Logger, tls bool, ct consoleTimeouts) http.Handler {
	api := server.New(cfg, st, logger)
	secure := tls || strings.HasPrefix(cfg.PublicURL, "https://")
	con := console.New(console.Config{Store: st, API: api, PasswordLogin: !cfg.DisablePasswordLogin, Secure: secure, PublicURL: cfg.PublicURL,
		IdleTimeout: ct.idle, SessionLifetime: ct.life, Now: cfg.Now, Logger: logger})
	pages := server.Pages(cfg, logger, loginweb.New(loginweb.Config{
		Store: st, Limiter: server.NewAddressLimiter(cfg, st, logger), PublicURL: cfg.PublicURL, TrustProxy: cfg.TrustProxy,
		Secure: secure, Now: cfg.Now, Logger: logger, ConsoleSignIn: con.SignIn,
	}))
	// The console's pages are followed and logged like the API's and the
	// sign-in pages' (request id, one access log line, recover).
	consolePages := server.Pages(cfg, logger, con)
	// Not a ServeMux: it would answer "OPTIONS *" and unclean paths itself,
	// and the API must see every request that is not a page.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/login/"):
			pages.ServeHTTP(w, r)
		case console.Owns(r.URL.Path):
			consolePages.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// workerName names this process in the outbox's leases: the host and pid
// for whoever reads the table, and a random part, unique per run.
func workerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
}
