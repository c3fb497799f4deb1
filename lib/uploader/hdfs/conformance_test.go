package hdfs_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/hdfs"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

// TestConformance runs the uploader suite against the namenode in
// HERON_TEST_HDFS_NAMENODE (see hdfs_test.go for why there is no other).
func TestConformance(t *testing.T) {
	nn := os.Getenv("HERON_TEST_HDFS_NAMENODE")
	if nn == "" {
		// Allowed even under CI=true: no HDFS can run on this project's machines.
		t.Skip("HERON_TEST_HDFS_NAMENODE is not set: no Hadoop namenode can be installed here, " +
			"so the HDFS conformance suite runs only against a namenode you give (host:port)")
	}
	conf := filepath.Join(t.TempDir(), "conf")
	os.MkdirAll(filepath.Join(conf, "test"), 0o755)
	yaml := "heron.class.uploader: org.apache.heron.uploader.hdfs.HdfsUploader\n" +
		"heron.uploader.hdfs.topologies.directory.uri: hdfs://" + nn + "/tmp/heron-conformance-" + strconv.Itoa(os.Getpid()) + "/${TOPOLOGY}/\n"
	if d := os.Getenv("HERON_TEST_HDFS_CONF_DIR"); d != "" {
		yaml += "heron.uploader.hdfs.config.directory: " + d + "\n"
		t.Setenv("HADOOP_CONF_DIR", d)
	}
	if err := os.WriteFile(filepath.Join(conf, "test", "uploader.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	uploadertest.Run(t, uploadertest.Harness{
		New: func(t *testing.T, topology string) uploader.Uploader {
			cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "tester", Topology: topology, Home: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			u, err := uploader.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return u
		},
	})
}

// TestConfigErrors needs no namenode.
func TestConfigErrors(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "conf")
	os.MkdirAll(filepath.Join(conf, "test"), 0o755)
	os.WriteFile(filepath.Join(conf, "test", "uploader.yaml"), []byte("heron.class.uploader: hdfs\n"), 0o644)
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "r", Topology: "T", Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uploader.New(cfg); err == nil {
		t.Error("no directory URI accepted")
	}
}
