package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A rotation that fails (something in the way of the rotated name) does not
// break the log: writes go on to the current file, and the rotation is
// tried again once the way is clear.
func TestFailedRotationKeepsLogging(t *testing.T) {
	base := filepath.Join(t.TempDir(), "i.log")
	log, err := OpenLog(base, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if err := os.MkdirAll(filepath.Join(base+".1", "busy"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"one\n", "two\n", "three\n"} {
		if _, err := log.Write([]byte(l)); err != nil {
			t.Fatalf("write %q after a failed rotation: %v", l, err)
		}
	}
	if lines := readLines(t, log.Path()); strings.Join(lines, " ") != "one two three" {
		t.Fatalf("current file holds %q", lines)
	}
	if err := os.RemoveAll(base + ".1"); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Write([]byte("four\n")); err != nil {
		t.Fatal(err)
	}
	if old, cur := readLines(t, base+".1"), readLines(t, log.Path()); strings.Join(old, " ") != "one two three" || strings.Join(cur, " ") != "four" {
		t.Fatalf("after rotating: %s.1 holds %q, %s.0 %q", base, old, base, cur)
	}
}
