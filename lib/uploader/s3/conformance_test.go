package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/uploader"
	"github.com/heronkit/heronkit/lib/uploader/s3"
	"github.com/heronkit/heronkit/lib/uploader/uploadertest"
)

// start runs MinIO with bucket "heron" and returns it.
func start(t *testing.T) *testserver.MinIO {
	t.Helper()
	m := testserver.StartMinIO(t)
	c, err := minio.New(m.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), "heron", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return m
}

// makePublic lets anyone read (and list) the bucket, which Heron's https
// package URLs need.
func makePublic(t *testing.T, m *testserver.MinIO, bucket string) {
	t.Helper()
	c, _ := minio.New(m.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1"})
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::` + bucket + `"]},` +
		`{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
	if err := c.SetBucketPolicy(context.Background(), bucket, policy); err != nil {
		t.Fatal(err)
	}
}

// cluster writes conf/test/uploader.yaml with Heron's S3 keys for m plus extra lines.
func cluster(t *testing.T, m *testserver.MinIO, extra string) string {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "conf")
	dir := filepath.Join(conf, "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := "heron.class.uploader: org.apache.heron.uploader.s3.S3Uploader\n" +
		"heron.uploader.s3.bucket: heron\n" +
		"heron.uploader.s3.uri: " + m.URL() + "\n" +
		"heron.uploader.s3.region: us-east-1\n" +
		"heron.uploader.s3.access_key: " + m.AccessKey + "\n" +
		"heron.uploader.s3.secret_key: " + m.SecretKey + "\n" + extra
	if err := os.WriteFile(filepath.Join(dir, "uploader.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func load(t *testing.T, conf, topology string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: conf, Cluster: "test", Role: "tester", Topology: topology, Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newUploader(t *testing.T, conf, topology string) uploader.Uploader {
	t.Helper()
	u, err := uploader.New(load(t, conf, topology))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConformanceHeronURL: Heron's https URL, fetched anonymously over plain
// HTTP from a bucket anyone may read (what Heron's downloaders need).
func TestConformanceHeronURL(t *testing.T) {
	m := start(t)
	makePublic(t, m, "heron")
	conf := cluster(t, m, "heron.uploader.s3.path_prefix: /packages\n")
	uploadertest.Run(t, uploadertest.Harness{
		New:           func(t *testing.T, topology string) uploader.Uploader { return newUploader(t, conf, topology) },
		KeepsPrevious: true,
	})
	uri, err := newUploader(t, conf, "WordCount").Upload(context.Background(), uploadertest.Package(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if want := m.URL() + "/heron/packages/WordCount/topology.tar.gz"; uri != want {
		t.Errorf("uri %s, want %s", uri, want)
	}
}

// TestConformanceS3URI: a private bucket; containers fetch s3:// URIs with
// credentials and endpoint from the standard AWS variables.
func TestConformanceS3URI(t *testing.T) {
	m := start(t)
	conf := cluster(t, m, "heron.uploader.s3.return_uri: s3\n")
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(s3.EndpointEnv, m.URL())
	uploadertest.Run(t, uploadertest.Harness{
		New:           func(t *testing.T, topology string) uploader.Uploader { return newUploader(t, conf, topology) },
		KeepsPrevious: true,
	})
	// The https URL of a private object is refused to anonymous readers.
	u := newUploader(t, cluster(t, m, ""), "Private")
	uri, err := u.Upload(context.Background(), uploadertest.Package(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := uploader.FetchTo(context.Background(), uri, io.Discard); exitcode.Code(err) != exitcode.Forbidden {
		t.Errorf("anonymous fetch of a private object: %v", err)
	}
}

// TestCredentialsFromEnvironment: no keys in the config, the AWS variables
// supply them, as Heron's default credential chain did.
func TestCredentialsFromEnvironment(t *testing.T) {
	m := start(t)
	conf := filepath.Join(t.TempDir(), "conf")
	os.MkdirAll(filepath.Join(conf, "test"), 0o755)
	os.WriteFile(filepath.Join(conf, "test", "uploader.yaml"), []byte("heron.class.uploader: s3\nheron.uploader.s3.bucket: heron\n"+
		"heron.uploader.s3.uri: "+m.URL()+"\nheron.uploader.s3.return_uri: s3\n"), 0o644)
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(s3.EndpointEnv, m.URL())
	u := newUploader(t, conf, "EnvCreds")
	uri, err := u.Upload(context.Background(), uploadertest.Package(t, "x"))
	if err != nil || uri != "s3://heron/EnvCreds/topology.tar.gz" {
		t.Fatalf("upload: %s %v", uri, err)
	}
	if err := uploader.FetchTo(context.Background(), uri, io.Discard); err != nil {
		t.Fatal(err)
	}
	// With no credentials anywhere, New says so.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	_, err = uploader.New(load(t, conf, "EnvCreds"))
	if exitcode.Code(err) != exitcode.Forbidden || !strings.Contains(err.Error(), "no S3 credentials") {
		t.Errorf("no credentials: %v (code %d)", err, exitcode.Code(err))
	}
}

func TestLargePackageAndFailures(t *testing.T) {
	m := start(t)
	ctx := context.Background()
	t.Run("200MB", func(t *testing.T) {
		u := newUploader(t, cluster(t, m, "heron.uploader.s3.return_uri: s3\n"), "Large")
		t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
		t.Setenv(s3.EndpointEnv, m.URL())
		pkg, sum := bigFile(t, 200<<20)
		uri, err := u.Upload(ctx, pkg)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if err := uploader.FetchTo(ctx, uri, h); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Sum(nil), sum) {
			t.Fatal("fetched package differs")
		}
		if err := u.Undo(ctx); err != nil {
			t.Fatal(err)
		}
	})
	check := func(name, extra string, code int, want string) {
		t.Helper()
		conf := cluster(t, m, extra)
		u := newUploader(t, conf, "Fail")
		_, err := u.Upload(ctx, uploadertest.Package(t, "x"))
		if err == nil || exitcode.Code(err) != code || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (code %d), want code %d and %q", name, err, exitcode.Code(err), code, want)
		}
	}
	// Later keys in the file win over the earlier ones.
	check("wrong secret", "heron.uploader.s3.secret_key: not-the-secret\n", exitcode.Forbidden, "authentication failed")
	check("missing bucket", "heron.uploader.s3.bucket: no-such-bucket\n", exitcode.NotFound, "the bucket does not exist")
}

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
		block[0], block[1] = byte(i), byte(i>>8)
		if _, err := io.MultiWriter(f, h).Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p, h.Sum(nil)
}
