package auth

import (
	"runtime"
	"testing"
)

func TestBrowserOpenerNeverOnAHeadlessBox(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if runtime.GOOS == "linux" {
		if browserOpener(env(nil)) != nil {
			t.Error("an opener on a Linux box with no DISPLAY, WAYLAND_DISPLAY or BROWSER")
		}
		if browserOpener(env(map[string]string{"DISPLAY": ":0"})) == nil {
			t.Error("no opener with a DISPLAY")
		}
	}
	if browserOpener(env(map[string]string{"BROWSER": "/bin/true --new-window"})) == nil {
		t.Error("BROWSER is not honoured")
	}
	if err := browserOpener(env(map[string]string{"BROWSER": "/nonexistent/browser"}))("http://x"); err == nil {
		t.Error("a BROWSER that cannot start reported success (the CLI would say it opened the page)")
	}
}
