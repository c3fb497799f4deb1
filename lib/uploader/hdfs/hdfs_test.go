package hdfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/testserver"
)

// NamenodeEnv names a running HDFS namenode (host:port) for the tests that
// need one. No Hadoop can be installed on the machines this project builds on
// (none is packaged for Debian or published on the registries they reach, and
// no namenode written in Go exists), so these tests skip without it even when
// CI=true: there is no server to start. ConfDirEnv may name a Hadoop config
// directory to use with it (for a Kerberos cluster, say).
const (
	NamenodeEnv = "HERON_TEST_HDFS_NAMENODE"
	ConfDirEnv  = "HERON_TEST_HDFS_CONF_DIR"
)

func TestParseLocation(t *testing.T) {
	for _, c := range []struct{ in, auth, path, uri string }{
		{"hdfs:///heron/topology/", "", "/heron/topology", "hdfs:///heron/topology"},
		{"hdfs://nn:8020/a//b", "nn:8020", "/a/b", "hdfs://nn:8020/a/b"},
		{"hdfs://cluster1/x", "cluster1", "/x", "hdfs://cluster1/x"},
		{"/plain/path", "", "/plain/path", "hdfs:///plain/path"},
		{"HDFS://nn/", "nn", "/", "hdfs://nn/"},
	} {
		l, err := ParseLocation(c.in)
		if err != nil || l.Authority != c.auth || l.Path != c.path || l.URI() != c.uri {
			t.Errorf("ParseLocation(%q) = %+v %q %v", c.in, l, l.URI(), err)
		}
	}
	for _, bad := range []string{"s3://b/k", "relative/path", "hdfs://nn:x/%zz"} {
		if _, err := ParseLocation(bad); err == nil {
			t.Errorf("ParseLocation(%q): no error", bad)
		}
	}
	l, _ := ParseLocation("hdfs:///heron/topology/")
	if got := l.Join("wc-u-tag-0.tar.gz").URI(); got != "hdfs:///heron/topology/wc-u-tag-0.tar.gz" {
		t.Errorf("Join: %s", got)
	}
}

func writeConf(t *testing.T, core, hdfsSite string) string {
	t.Helper()
	dir := t.TempDir()
	wrap := func(props string) []byte {
		return []byte("<?xml version=\"1.0\"?>\n<configuration>\n" + props + "</configuration>\n")
	}
	prop := func(k, v string) string {
		return "  <property><name>" + k + "</name><value>" + v + "</value></property>\n"
	}
	var c, h string
	for _, kv := range strings.Split(core, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			c += prop(k, v)
		}
	}
	for _, kv := range strings.Split(hdfsSite, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			h += prop(k, v)
		}
	}
	os.WriteFile(filepath.Join(dir, "core-site.xml"), wrap(c), 0o644)
	os.WriteFile(filepath.Join(dir, "hdfs-site.xml"), wrap(h), 0o644)
	return dir
}

func TestNamenodes(t *testing.T) {
	dir := writeConf(t, "fs.defaultFS=hdfs://ns1",
		"dfs.nameservices=ns1;dfs.ha.namenodes.ns1=nn1,nn2;dfs.namenode.rpc-address.ns1.nn1=a:8020;dfs.namenode.rpc-address.ns1.nn2=b:8020")
	conf, err := loadConf(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(namenodes(conf, "ns1"), ","); got != "a:8020,b:8020" {
		t.Errorf("nameservice: %s", got)
	}
	if got := strings.Join(namenodes(conf, "nn"), ","); got != "nn:8020" {
		t.Errorf("host without port: %s", got)
	}
	if got := strings.Join(namenodes(conf, "nn:9000"), ","); got != "nn:9000" {
		t.Errorf("host:port: %s", got)
	}
}

// TestErrorsWithoutServer checks the failures that need no namenode: a
// missing config dir, no namenode anywhere, Kerberos without a ticket, and a
// namenode that does not answer.
func TestErrorsWithoutServer(t *testing.T) {
	ctx := context.Background()
	local := filepath.Join(t.TempDir(), "p.tar.gz")
	os.WriteFile(local, []byte("x"), 0o644)
	check := func(name string, err error, code int, want string) {
		t.Helper()
		if err == nil || exitcode.Code(err) != code || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v (code %d), want code %d and %q on one line", name, err, exitcode.Code(err), code, want)
		}
	}
	loc, _ := ParseLocation("hdfs:///heron/x.tar.gz")
	check("missing conf dir", put(ctx, Settings{ConfigDir: filepath.Join(t.TempDir(), "none")}, local, loc, nil),
		exitcode.Config, "read Hadoop configuration")
	check("no namenode", put(ctx, Settings{ConfigDir: writeConf(t, "", "")}, local, loc, nil),
		exitcode.Config, "no namenode")

	t.Setenv("KRB5CCNAME", filepath.Join(t.TempDir(), "no-cache"))
	krb5 := filepath.Join(t.TempDir(), "krb5.conf")
	os.WriteFile(krb5, []byte("[libdefaults]\n default_realm = EXAMPLE.ORG\n"), 0o644)
	t.Setenv("KRB5_CONFIG", krb5)
	kdir := writeConf(t, "fs.defaultFS=hdfs://127.0.0.1:1;hadoop.security.authentication=kerberos", "dfs.namenode.kerberos.principal=nn/_HOST@EXAMPLE.ORG")
	check("kerberos without ticket", put(ctx, Settings{ConfigDir: kdir}, local, loc, nil), exitcode.Forbidden, "ticket cache")

	port := testserver.FreePort(t)
	closed, _ := ParseLocation("hdfs://127.0.0.1:" + strconv.Itoa(port) + "/heron/x.tar.gz")
	check("nothing listening", put(ctx, Settings{ConfigDir: writeConf(t, "", "")}, local, closed, nil),
		exitcode.Unavailable, "cannot reach")
}

// TestAgainstNamenode runs put, get and remove against the namenode in
// HERON_TEST_HDFS_NAMENODE.
func TestAgainstNamenode(t *testing.T) {
	nn := os.Getenv(NamenodeEnv)
	if nn == "" {
		// Allowed even under CI=true: no HDFS can run on this project's machines.
		t.Skip(NamenodeEnv + " is not set: no Hadoop namenode can be installed here (none is packaged for Debian " +
			"or on the reachable registries), so the HDFS uploader is tested only against a namenode you give (host:port)")
	}
	ctx := context.Background()
	s := Settings{ConfigDir: os.Getenv(ConfDirEnv)}
	if s.ConfigDir == "" {
		s.ConfigDir = writeConf(t, "", "")
	}
	dir, _ := ParseLocation("hdfs://" + nn + "/tmp/heron-uploader-test-" + strconv.Itoa(os.Getpid()))
	loc := dir.Join("wc-u-tag-0.tar.gz")
	data := make([]byte, 5<<20+3)
	_, _ = rand.Read(data)
	local := filepath.Join(t.TempDir(), "topology.tar.gz")
	os.WriteFile(local, data, 0o644)
	if err := put(ctx, s, local, loc, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remove(ctx, s, dir) })
	var buf bytes.Buffer
	if err := get(ctx, s, loc, &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("get: %v (%d bytes)", err, buf.Len())
	}
	if err := remove(ctx, s, loc); err != nil {
		t.Fatal(err)
	}
	if err := get(ctx, s, loc, &buf, nil); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("get after remove: %v", err)
	}
}
