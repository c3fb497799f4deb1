package transfer

import (
	"bytes"
	"errors"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/exitcode"
)

func TestTempName(t *testing.T) {
	final := "/a/b/wc-u-tag-0.tar.gz"
	a, b := TempName(final), TempName(final)
	if a == b || path.Dir(a) != "/a/b" || !strings.HasPrefix(path.Base(a), ".") {
		t.Errorf("TempName: %s %s", a, b)
	}
	if !IsTempOf(path.Base(a), final) || IsTempOf("wc-u-tag-0.tar.gz", final) || IsTempOf(path.Base(TempName("/a/b/other")), final) {
		t.Error("IsTempOf")
	}
}

func TestErrorf(t *testing.T) {
	err := Errorf(Auth, "log in to", "u@h:22", errors.New("ssh: unable\nto authenticate"), "check the key")
	if err.Error() != "log in to u@h:22: authentication failed: ssh: unable to authenticate" {
		t.Errorf("message %q", err)
	}
	if exitcode.Code(err) != exitcode.Forbidden || exitcode.Hint(err) != "check the key" {
		t.Errorf("code %d hint %q", exitcode.Code(err), exitcode.Hint(err))
	}
	if exitcode.Code(Errorf(Network, "x", "y", nil, "")) != exitcode.Unavailable {
		t.Error("network code")
	}
}

// Off a terminal there is no progress line and the reader is untouched.
func TestProgressOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	r := strings.NewReader("x")
	got, done := Progress(&buf, "l", 1<<30, r)
	done()
	if got != r || buf.Len() != 0 {
		t.Error("progress drawn off a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if c, _ := ProgressCounter(f, "l", 1<<30); c != nil {
		t.Error("progress counter for a plain file")
	}
}
