// Package proto holds our Heron-compatible .proto files; the generated Go
// lives in the *pb sub-packages. This test fails when they are stale.
package proto

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("protoc is missing: make check installs it (Debian protobuf-compiler)")
		}
		t.Skip("protoc not installed; run make check to install it")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "gen.sh", out)
	cmd.Env = append(os.Environ(), "PROTOC_GEN_GO="+filepath.Join(t.TempDir(), "protoc-gen-go"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, b)
	}
	fresh, _ := filepath.Glob(filepath.Join(out, "*pb", "*.pb.go"))
	committed, _ := filepath.Glob(filepath.Join("*pb", "*.pb.go"))
	if len(fresh) == 0 || len(fresh) != len(committed) {
		t.Fatalf("generated %d files, %d committed: run make gen", len(fresh), len(committed))
	}
	for _, f := range fresh {
		rel, _ := filepath.Rel(out, f)
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(rel)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make gen", rel)
		}
	}
}
