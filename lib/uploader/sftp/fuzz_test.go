package sftp

import (
	"strings"
	"testing"
)

// FuzzParseTarget: option strings and connections come from config files and
// command lines; no input may panic, and a parsed target is usable.
func FuzzParseTarget(f *testing.F) {
	for _, s := range [][2]string{
		{"user@host", "-i ~/.ssh/id_rsa -P 2222"},
		{"[::1]:22", "-o 'StrictHostKeyChecking no' -qC"},
		{"h", `-o "UserKnownHostsFile=/a b" -oPort=1`},
		{"a@b@c", "-P"},
		{"host", `"unterminated`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, conn, opts string) {
		tg, err := ParseTarget(conn, opts, "", opts)
		if err != nil {
			return
		}
		if tg.Host == "" || tg.Port <= 0 || tg.Port > 65535 || strings.ContainsAny(tg.Host, " /") {
			t.Fatalf("bad target %+v from %q %q", tg, conn, opts)
		}
	})
}

// FuzzParseURI: package URIs come from state and other machines.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"sftp://u@h:2222/a/b.tar.gz", "scp://h/~/x", "u@h:/p", "[::1]:/p", "h:", "sftp://h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, p, err := ParseURI(s, "")
		if err != nil {
			return
		}
		if p == "" || tg.Host == "" {
			t.Fatalf("ParseURI(%q) = %+v %q", s, tg, p)
		}
	})
}
