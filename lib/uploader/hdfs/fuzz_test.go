package hdfs

import (
	"strings"
	"testing"
)

// FuzzParseLocation: directory URIs come from config files, package URIs
// from state; no input may panic and a parsed location is absolute.
func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"hdfs:///heron/topology/", "hdfs://nn:8020/a", "/p", "hdfs://%zz/", "hdfs:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocation(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(l.Path, "/") {
			t.Fatalf("ParseLocation(%q) path %q", s, l.Path)
		}
		if _, err := ParseLocation(l.URI()); err != nil {
			t.Fatalf("URI %q of %q does not parse: %v", l.URI(), s, err)
		}
	})
}
