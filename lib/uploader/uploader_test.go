package uploader_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/uploader"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

func TestFetchHTTPAndFile(t *testing.T) {
	pkg := uploadertest.Package(t, "over-http")
	data, _ := os.ReadFile(pkg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pkg.tar.gz":
			w.Write(data)
		case "/secret":
			http.Error(w, "no", http.StatusForbidden)
		case "/broken":
			http.Error(w, "oops", http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := uploader.Fetch(ctx, srv.URL+"/pkg.tar.gz", dir, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "T.defn")); string(b) != "over-http" {
		t.Fatalf("defn %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".topology-*")); len(left) != 0 {
		t.Errorf("temporary left behind: %v", left)
	}
	for path, code := range map[string]int{"/missing": exitcode.NotFound, "/secret": exitcode.Forbidden, "/broken": exitcode.Unavailable} {
		if err := uploader.FetchTo(ctx, srv.URL+path, &bytes.Buffer{}); exitcode.Code(err) != code {
			t.Errorf("%s: %v (code %d), want %d", path, err, exitcode.Code(err), code)
		}
	}
	var buf bytes.Buffer
	if err := uploader.FetchTo(ctx, "file://"+pkg, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("file fetch: %v", err)
	}
	if err := uploader.FetchTo(ctx, "file:///nonexistent/x.tar.gz", &buf); exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("missing file: %v", err)
	}
	if err := uploader.FetchTo(ctx, "gopher://x/y", &buf); exitcode.Code(err) != exitcode.Config {
		t.Fatalf("unknown scheme: %v", err)
	}
	if err := uploader.FetchTo(ctx, "just/a/path", &buf); exitcode.Code(err) != exitcode.Usage {
		t.Fatalf("no scheme: %v", err)
	}
	// A package that is not an archive is refused when unpacking.
	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	os.WriteFile(bad, []byte("\x1f\x8bnot gzip"), 0o644)
	if _, err := uploader.Fetch(ctx, "file://"+bad, t.TempDir(), pkgtar.Limits{}); exitcode.Code(err) != exitcode.DataErr {
		t.Fatalf("bad archive: %v", err)
	}
}

func TestPackageName(t *testing.T) {
	if got := uploader.PackageName("WordCount", "streamer"); got != "WordCount-streamer-tag-0.tar.gz" {
		t.Fatal(got)
	}
}
