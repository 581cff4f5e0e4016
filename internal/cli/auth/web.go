package auth

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tokenctl/tokenctl/internal/api"
	"github.com/tokenctl/tokenctl/internal/cli/cmdutil"
	"github.com/tokenctl/tokenctl/internal/client"
	"github.com/tokenctl/tokenctl/internal/credential"
)

// maxPollInterval caps what slow_down can make the CLI wait between polls.
const maxPollInterval = time.Minute

// withWeb signs in through the browser: the device grant of RFC 8628. It
// shows the one-time code and the URL, opens a browser where there is one,
// and polls at the server's interval until a person approves, refuses, or
// the code expires. Ctrl-C stops it with nothing minted.
func (o *LoginOptions) withWeb(ctx context.Context, host string, copts client.Options, ready func() error) (*login, error) {
	if err := ready(); err != nil {
		return nil, err
	}
	copts.Username, copts.Password, copts.Token = "", "", ""
	copts.MaxAttempts = 1 // the poll loop below is the retry
	cl, err := client.New(copts)
	if err != nil {
		return nil, err
	}
	machine := strings.TrimPrefix(loginTokenName(o.Hostname), loginTokenPrefix)
	da, err := cl.StartDevice(ctx, machine)
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Problem != nil && ae.Problem.Code == api.CodeSSONotConfigured {
			return nil, fmt.Errorf("%s has no sign-in provider for --web; log in with --username instead, or ask its operator to add one (tokend sso add)", host)
		}
		return nil, fmt.Errorf("start the browser sign-in: %w", err)
	}
	o.Timings.Started = o.Now()
	fmt.Fprintf(o.IO.ErrOut, "First copy your one-time code: %s\n", da.UserCode)
	opened := false
	if o.OpenBrowser != nil {
		opened = o.OpenBrowser(da.VerificationURIComplete) == nil
	}
	if opened {
		fmt.Fprintf(o.IO.ErrOut, "Opened %s in your browser; confirm the code there and sign in.\n", da.VerificationURI)
	} else {
		fmt.Fprintf(o.IO.ErrOut, "Then open %s in a browser (on any machine), enter the code and sign in.\n", da.VerificationURI)
	}
	fmt.Fprintln(o.IO.ErrOut, "Waiting for the sign-in… (Ctrl-C to stop)")

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	req := api.DeviceTokenRequest{DeviceCode: da.DeviceCode}
	if o.expiresInSet {
		req.ExpiresInSeconds = client.ExpiresIn(o.expiresIn)
	}
	for {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		tok, err := cl.PollDevice(ctx, req)
		if err == nil {
			o.Timings.Approved = o.Now()
			return &login{
				host: host, token: tok.Secret, username: tok.User.Username,
				facts: credential.Facts{TokenID: tok.ID, TokenName: tok.Name, ExpiresAt: tok.ExpiresAt, LoginToken: true},
				discard: func() {
					if c, err := clientWithToken(copts, tok.Secret); err == nil {
						_ = c.DeleteCurrentToken(context.WithoutCancel(ctx))
					}
				},
			}, nil
		}
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Problem == nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("wait for the browser sign-in: %w", err)
		}
		switch ae.Problem.Code {
		case api.CodeAuthorizationPending:
		case api.CodeSlowDown:
			interval = min(max(time.Duration(ae.Problem.Interval)*time.Second, interval+5*time.Second), maxPollInterval)
		case api.CodeAccessDenied:
			return nil, &cmdutil.AuthError{Err: errors.New("the sign-in was refused in the browser (denied, or not allowed by the server's policy); nothing was stored")}
		case api.CodeExpiredToken:
			return nil, &cmdutil.AuthError{Err: errors.New("the one-time code expired before the sign-in finished; run tokenctl auth login --web again")}
		default:
			return nil, fmt.Errorf("wait for the browser sign-in: %w", err)
		}
	}
}

// LoginTimings are the moments of a browser sign-in, for the debug log
// and for measuring the flow.
type LoginTimings struct {
	Started, Approved, Stored time.Time
}

// browserOpener returns how to open a URL here, or nil on a headless
// machine: $BROWSER when set (a command, its arguments split on spaces);
// otherwise the desktop's opener, only where there is a desktop.
func browserOpener(getenv func(string) string) func(url string) error {
	run := func(name string, args ...string) func(string) error {
		return func(url string) error {
			cmd := exec.Command(name, append(args, url)...)
			if err := cmd.Start(); err != nil {
				return err
			}
			go cmd.Wait() // reap it; the browser outlives us or not, as it likes
			return nil
		}
	}
	if b := strings.Fields(getenv("BROWSER")); len(b) > 0 {
		return run(b[0], b[1:]...)
	}
	switch runtime.GOOS {
	case "darwin":
		if getenv("SSH_CONNECTION") == "" {
			return run("open")
		}
	case "windows":
		return run("rundll32", "url.dll,FileProtocolHandler")
	default:
		if getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != "" {
			return run("xdg-open")
		}
	}
	return nil // headless: only print
}
