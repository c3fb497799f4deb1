package httpuploader_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/apiserver/apiservertest"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/uploader"
	httpuploader "github.com/heronkit/heronkit/lib/uploader/http"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

// startServer runs a real heron-apiserver (in-process, on 127.0.0.1) and
// returns its base URL.
func startServer(t *testing.T, token string) string {
	t.Helper()
	_, base := apiservertest.Start(t, apiserver.Options{Token: token})
	return base
}

// clusterConfig is a cluster whose uploader.yaml selects Heron's HttpUploader class.
func clusterConfig(t *testing.T, yaml, topology string) *config.Config {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "uploader.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{Dir: dir, Cluster: "c", Role: "tester", SubmitUser: "tester", Topology: topology})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConformance(t *testing.T) {
	base := startServer(t, "")
	uploadertest.Run(t, uploadertest.Harness{
		New: func(t *testing.T, topology string) uploader.Uploader {
			u, err := uploader.New(clusterConfig(t,
				"heron.class.uploader: org.apache.heron.uploader.http.HttpUploader\n"+
					"heron.uploader.http.uri: "+base+"/api/v1/file/upload\n", topology))
			if err != nil {
				t.Fatal(err)
			}
			return u
		},
	})
}

func TestToken(t *testing.T) {
	base := startServer(t, "tok")
	pkg := uploadertest.Package(t, "x")
	yaml := "heron.class.uploader: http\nheron.uploader.http.uri: " + base + "/api/v1/file/upload\n"
	u, err := uploader.New(clusterConfig(t, yaml, "T"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Upload(context.Background(), pkg); exitcode.Code(err) != exitcode.Forbidden {
		t.Fatalf("no token: %v (code %d), want forbidden", err, exitcode.Code(err))
	}
	u, err = uploader.New(clusterConfig(t, yaml+"heron.uploader.http.token: tok\n", "T"))
	if err != nil {
		t.Fatal(err)
	}
	uri, err := u.Upload(context.Background(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := uploader.FetchTo(context.Background(), uri, io.Discard); exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("after undo: %v", err)
	}
}

func TestMissingURI(t *testing.T) {
	_, err := httpuploader.New(clusterConfig(t, "heron.class.uploader: http\n", "T"))
	if exitcode.Code(err) != exitcode.Config || !strings.Contains(err.Error(), "heron.uploader.http.uri property must be set") {
		t.Fatalf("got %v", err)
	}
}

func TestNotAURL(t *testing.T) {
	// A server answering something that is not a URL (Heron's uploader
	// would take it as the package URI).
	base := startServer(t, "")
	pkg := uploadertest.Package(t, "x")
	u, err := uploader.New(clusterConfig(t, "heron.class.uploader: http\nheron.uploader.http.uri: "+base+"/api/v1/version\n", "T"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Upload(context.Background(), pkg); err == nil {
		t.Fatal("uploading to a non-upload endpoint succeeded")
	}
}
