package testserver

import (
	"strings"
	"testing"
)

// TestSSHD starts the real sshd and runs a command over a key login.
func TestSSHD(t *testing.T) {
	s := StartSSHD(t)
	c, err := s.Dial()
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.Process().Tail(20))
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Output("echo ok")
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("echo over ssh: %q %v", out, err)
	}
}
