// Package uploadertest is the conformance suite every uploader backend must
// pass: upload a real package, read it back through its URI, overwrite it,
// undo, and the error codes for what is missing.
package uploadertest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/uploader"
)

// Harness tells the suite how to reach the backend under test.
type Harness struct {
	// New returns a fresh uploader for a topology on the backend under
	// test (role "tester", environ "default").
	New func(t *testing.T, topology string) uploader.Uploader
	// Fetch reads a URI back; nil means uploader.FetchTo (the backend's
	// registered fetcher).
	Fetch func(ctx context.Context, uri string, w *bytes.Buffer) error
	// KeepsPrevious is true for backends whose Undo restores the package
	// that the upload replaced (S3, GCS); otherwise Undo leaves nothing.
	KeepsPrevious bool
}

func (h Harness) fetch(ctx context.Context, uri string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if h.Fetch != nil {
		err = h.Fetch(ctx, uri, &buf)
	} else {
		err = uploader.FetchTo(ctx, uri, &buf)
	}
	return buf.Bytes(), err
}

// Package builds a small real topology package whose defn holds marker.
func Package(t *testing.T, marker string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "t.yaml"), []byte("name: T\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "topology.tar.gz")
	if _, err := pkgtar.BuildFile(p, pkgtar.Contents{TopologyDir: src, DefnName: "T.defn", Defn: []byte(marker), Override: []byte("{}\n")}, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	ctx := context.Background()

	t.Run("UploadFetchUndo", func(t *testing.T) {
		u := h.New(t, "ConformanceA")
		pkg := Package(t, "first")
		want, _ := os.ReadFile(pkg)
		uri, err := u.Upload(ctx, pkg)
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		if uri == "" {
			t.Fatal("upload returned an empty URI")
		}
		got, err := h.fetch(ctx, uri)
		if err != nil {
			t.Fatalf("fetch %s: %v", uri, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("fetched %d bytes, want the %d uploaded", len(got), len(want))
		}
		if h.Fetch == nil {
			dir := t.TempDir()
			if _, err := uploader.Fetch(ctx, uri, dir, pkgtar.Limits{}); err != nil {
				t.Fatalf("fetch and unpack: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "T.defn")); err != nil || string(b) != "first" {
				t.Fatalf("unpacked defn %q, %v", b, err)
			}
		}
		if err := u.Undo(ctx); err != nil {
			t.Fatalf("undo: %v", err)
		}
		if _, err := h.fetch(ctx, uri); exitcode.Code(err) != exitcode.NotFound {
			t.Fatalf("after undo, fetch %s = %v (code %d), want not-found", uri, err, exitcode.Code(err))
		}
		if err := u.Undo(ctx); err != nil {
			t.Fatalf("second undo: %v", err)
		}
	})

	t.Run("OverwriteAndUndo", func(t *testing.T) {
		first, second := Package(t, "one"), Package(t, "two")
		u1 := h.New(t, "ConformanceB")
		uri1, err := u1.Upload(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		u2 := h.New(t, "ConformanceB")
		uri2, err := u2.Upload(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		want2, _ := os.ReadFile(second)
		if got, err := h.fetch(ctx, uri2); err != nil || !bytes.Equal(got, want2) {
			t.Fatalf("second upload not readable: %v", err)
		}
		if err := u2.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := h.fetch(ctx, uri1)
		want1, _ := os.ReadFile(first)
		if h.KeepsPrevious {
			if err != nil || !bytes.Equal(got, want1) {
				t.Fatalf("undo did not restore the previous package: %v", err)
			}
		} else if uri1 == uri2 && err == nil && bytes.Equal(got, want2) {
			t.Fatal("undo left the second package in place")
		}
		_ = u1.Undo(ctx)
	})

	t.Run("UndoWithoutUploadKeepsPackages", func(t *testing.T) {
		u := h.New(t, "ConformanceC")
		pkg := Package(t, "keep")
		uri, err := u.Upload(ctx, pkg)
		if err != nil {
			t.Fatal(err)
		}
		// A second submission that fails before uploading rolls back: the
		// running topology's package must stay.
		if err := h.New(t, "ConformanceC").Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fetch(ctx, uri); err != nil {
			t.Fatalf("undo without upload removed the package: %v", err)
		}
		_ = u.Undo(ctx)
	})

	t.Run("TopologiesDoNotCollide", func(t *testing.T) {
		a, b := h.New(t, "ConformanceD"), h.New(t, "ConformanceE")
		pa, pb := Package(t, "a"), Package(t, "b")
		ua, err := a.Upload(ctx, pa)
		if err != nil {
			t.Fatal(err)
		}
		ub, err := b.Upload(ctx, pb)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(pa)
		if got, err := h.fetch(ctx, ua); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("topology D's package was changed by E's upload (%s vs %s): %v", ua, ub, err)
		}
		_ = a.Undo(ctx)
		_ = b.Undo(ctx)
	})

	t.Run("MissingPackage", func(t *testing.T) {
		u := h.New(t, "ConformanceF")
		_, err := u.Upload(ctx, filepath.Join(t.TempDir(), "nope.tar.gz"))
		if exitcode.Code(err) != exitcode.NotFound {
			t.Fatalf("upload of a missing file: %v (code %d), want not-found", err, exitcode.Code(err))
		}
		if err := u.Undo(ctx); err != nil {
			t.Fatalf("undo after a failed upload: %v", err)
		}
	})
}
