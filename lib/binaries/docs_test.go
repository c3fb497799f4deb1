package binaries_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/binaries"
)

var update = flag.Bool("update", false, "rewrite man/ and completions/ (make gen)")

// TestGeneratedDocsAreCurrent fails when man pages or completions no longer
// match the binaries' kong models.
func TestGeneratedDocsAreCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	if *update {
		if err := binaries.WriteGenerated(root); err != nil {
			t.Fatal(err)
		}
	}
	gen, err := binaries.Generated()
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range gen {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing: run make gen", p)
		}
	}
}
