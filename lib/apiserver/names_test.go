package apiserver

import (
	"strings"
	"testing"
)

// Internal: the stored name joins newID to the safe base name.
func TestSafeBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"topology.tar.gz":                    "topology.tar.gz",
		"../../etc/passwd":                   "passwd",
		`C:\x\y.jar`:                         "y.jar",
		"..":                                 "file",
		"":                                   "file",
		".bashrc":                            "bashrc",
		"a b;c$(d).tar":                      "a_b_c__d_.tar",
		"..\x00..":                           "_..",
		strings.Repeat("x", 300) + ".tar.gz": strings.Repeat("x", 93) + ".tar.gz",
	} {
		if got := SafeBaseName(in); got != want {
			t.Errorf("SafeBaseName(%q) = %q, want %q", in, got, want)
		}
		if !ValidName(newID() + "-" + SafeBaseName(in)) {
			t.Errorf("%q: stored name not valid", in)
		}
	}
}
