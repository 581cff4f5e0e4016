package token

import (
	"os/exec"
	"testing"
	"time"
)

func TestShellQuoteSurvivesTheShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		requireCI(t, "no sh: "+err.Error())
	}
	for _, s := range []string{"tkn_abc", "", "it's", `a"b$c\d`, "x'; rm -rf / #", "new\nline"} {
		out, err := exec.Command(sh, "-c", "eval \"V=$1\"; printf %s \"$V\"", "sh", shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) came back as %q (%v)", s, out, err)
		}
	}
}

func TestUsedAgo(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Time
		want string
	}{
		{now, "just now"},
		{now.Add(-59 * time.Second), "just now"},
		{now.Add(-5 * time.Minute), "5m ago"},
		{now.Add(-50 * time.Hour), "2d ago"},
	}
	for _, tt := range tests {
		if got := usedAgo(tt.at, now); got != tt.want {
			t.Errorf("usedAgo(%v) = %q, want %q", now.Sub(tt.at), got, tt.want)
		}
	}
}

func TestExecTokenName(t *testing.T) {
	tests := []struct{ cmd, prefix string }{
		{"/usr/local/bin/deploy.sh", "exec-deploy.sh-"},
		{"make", "exec-make-"},
		{"./weird name;rm", "exec-weird-name-rm-"},
	}
	for _, tt := range tests {
		got := execTokenName(tt.cmd)
		if len(got) != len(tt.prefix)+6 || got[:len(tt.prefix)] != tt.prefix {
			t.Errorf("execTokenName(%q) = %q, want %sXXXXXX", tt.cmd, got, tt.prefix)
		}
	}
	if execTokenName("make") == execTokenName("make") {
		t.Error("two runs got the same name")
	}
}
