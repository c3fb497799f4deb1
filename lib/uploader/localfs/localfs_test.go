package localfs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/localfs"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

// cluster writes conf/test/uploader.yaml with Heron's local layout.
func cluster(t *testing.T, home string, uploaderYAML string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "conf")
	dir := filepath.Join(conf, "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "uploader.yaml"), []byte(uploaderYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func load(t *testing.T, conf, home, topology string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "tester", Topology: topology, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const shipped = "heron.class.uploader: org.apache.heron.uploader.localfs.LocalFileSystemUploader\n" +
	"heron.uploader.localfs.file.system.directory: ${HOME}/.herondata/repository/topologies/${CLUSTER}/${ROLE}/${TOPOLOGY} \n"

func TestConformance(t *testing.T) {
	home := t.TempDir()
	conf := cluster(t, home, shipped)
	uploadertest.Run(t, uploadertest.Harness{
		New: func(t *testing.T, topology string) uploader.Uploader {
			u, err := uploader.New(load(t, conf, home, topology))
			if err != nil {
				t.Fatal(err)
			}
			return u
		},
	})
}

// Heron's URI: file://<dir>/<topology>-<role>-tag-0.tar.gz.
func TestHeronURINaming(t *testing.T) {
	home := t.TempDir()
	u, err := uploader.New(load(t, cluster(t, home, shipped), home, "WordCount"))
	if err != nil {
		t.Fatal(err)
	}
	uri, err := u.Upload(context.Background(), uploadertest.Package(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	want := "file://" + home + "/.herondata/repository/topologies/test/tester/WordCount/WordCount-tester-tag-0.tar.gz"
	if uri != want {
		t.Fatalf("uri %s\nwant %s", uri, want)
	}
	// Without the key, Heron's code default applies (expanded).
	u, err = uploader.New(load(t, cluster(t, home, "heron.class.uploader: localfs\n"), home, "WordCount"))
	if err != nil {
		t.Fatal(err)
	}
	uri, _ = u.Upload(context.Background(), uploadertest.Package(t, "x"))
	if want := "file://" + home + "/.herondata/repository/test/tester/WordCount/WordCount-tester-tag-0.tar.gz"; uri != want {
		t.Fatalf("default uri %s\nwant %s", uri, want)
	}
}
