package sftp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/uploader"
	"github.com/heronkit/heronkit/lib/uploader/sftp"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

// cluster writes conf/test/uploader.yaml for the scp uploader against s,
// with Heron's keys and option strings.
func cluster(t *testing.T, s *testserver.SSHD, opts string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "conf")
	dir := filepath.Join(conf, "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conn := s.User + "@" + testserver.Host
	yaml := "heron.class.uploader: org.apache.heron.uploader.scp.ScpUploader\n" +
		"heron.uploader.scp.command.options: \"" + opts + " -P " + strconv.Itoa(s.Port) + "\"\n" +
		"heron.uploader.scp.command.connection: " + conn + "\n" +
		"heron.uploader.ssh.command.options: \"" + opts + " -p " + strconv.Itoa(s.Port) + "\"\n" +
		"heron.uploader.ssh.command.connection: " + conn + "\n" +
		"heron.uploader.scp.dir.path: " + s.Root + "/heron/repository/${CLUSTER}/${ROLE}/${TOPOLOGY}\n"
	if err := os.WriteFile(filepath.Join(dir, "uploader.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func options(s *testserver.SSHD) string {
	return "-i " + s.ClientKey + " -o UserKnownHostsFile=" + s.KnownHosts + " -o IdentitiesOnly=yes"
}

func newUploader(t *testing.T, conf, topology string) uploader.Uploader {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "tester", Topology: topology, Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := uploader.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestConformance(t *testing.T) {
	s := testserver.StartSSHD(t)
	conf := cluster(t, s, options(s))
	// fetch runs where no cluster config is: it takes its options from the env.
	t.Setenv(sftp.OptionsEnv, options(s))
	uploadertest.Run(t, uploadertest.Harness{
		New: func(t *testing.T, topology string) uploader.Uploader { return newUploader(t, conf, topology) },
	})
}

func TestHeronNaming(t *testing.T) {
	s := testserver.StartSSHD(t)
	u := newUploader(t, cluster(t, s, options(s)), "WordCount")
	uri, err := u.Upload(context.Background(), uploadertest.Package(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	path := s.Root + "/heron/repository/test/tester/WordCount/WordCount-tester-tag-0.tar.gz"
	if want := "sftp://" + s.User + "@" + s.Addr() + path; uri != want {
		t.Errorf("uri %s\nwant %s", uri, want)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	// scp's own user@host:path form reads back too (port from the options).
	t.Setenv(sftp.OptionsEnv, options(s)+" -P "+strconv.Itoa(s.Port))
	var buf bytes.Buffer
	if err := sftp.FetchSCP(context.Background(), s.User+"@"+testserver.Host+":"+path, &buf); err != nil || buf.Len() == 0 {
		t.Errorf("scp-style fetch: %v", err)
	}
}

// TestLargePackage moves a 200 MB package up and back, checking its digest.
func TestLargePackage(t *testing.T) {
	s := testserver.StartSSHD(t)
	t.Setenv(sftp.OptionsEnv, options(s))
	u := newUploader(t, cluster(t, s, options(s)), "Large")
	pkg, sum := bigFile(t, 200<<20)
	uri, err := u.Upload(context.Background(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if err := uploader.FetchTo(context.Background(), uri, h); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), sum) {
		t.Fatal("fetched package differs from the uploaded one")
	}
	if err := u.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// bigFile writes size pseudo-random bytes quickly and returns the path and
// its SHA-256.
func bigFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "topology.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7 + i>>8)
	}
	for i := 0; i < size/len(block); i++ {
		block[0], block[1] = byte(i), byte(i>>8) // no two blocks alike
		if _, err := io.MultiWriter(f, h).Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, h.Sum(nil)
}

func TestConfigErrors(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "conf")
	os.MkdirAll(filepath.Join(conf, "test"), 0o755)
	os.WriteFile(filepath.Join(conf, "test", "uploader.yaml"), []byte("heron.class.uploader: scp\n"), 0o644)
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "r", Topology: "T", Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = uploader.New(cfg)
	if exitcode.Code(err) != exitcode.Config || !strings.Contains(err.Error(), sftp.KeySCPConnection) {
		t.Errorf("missing connection: %v (code %d)", err, exitcode.Code(err))
	}
}
