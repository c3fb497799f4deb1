package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/testserver"
)

func TestObjectKey(t *testing.T) {
	for _, c := range []struct{ prefix, want string }{
		{"/", "WordCount/topology.tar.gz"},
		{"", "WordCount/topology.tar.gz"},
		{"a/b", "a/b/WordCount/topology.tar.gz"},
		{"/a/", "a/WordCount/topology.tar.gz"},
		{"a//b", "a/b/WordCount/topology.tar.gz"},
	} {
		if got := ObjectKey(c.prefix, "WordCount"); got != c.want {
			t.Errorf("ObjectKey(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
	if got := backupKey("a/WordCount/topology.tar.gz"); got != "a/WordCount/previous_topology.tar.gz" {
		t.Errorf("backupKey = %q", got)
	}
}

func TestEndpointAndURL(t *testing.T) {
	for _, c := range []struct {
		s      Settings
		host   string
		secure bool
	}{
		{Settings{Region: "us-west-2"}, "s3.us-west-2.amazonaws.com", true},
		{Settings{Region: "us-east-1"}, "s3.amazonaws.com", true},
		{Settings{Endpoint: "minio.local:9000"}, "minio.local:9000", true},
		{Settings{Endpoint: "http://127.0.0.1:9000"}, "127.0.0.1:9000", false},
	} {
		host, secure, _, err := c.s.endpoint()
		if err != nil || host != c.host || secure != c.secure {
			t.Errorf("%+v: got %s %v %v", c.s, host, secure, err)
		}
	}
	if _, _, _, err := (Settings{Endpoint: "ftp://x"}).endpoint(); err == nil {
		t.Error("ftp endpoint accepted")
	}
	u := objectURL(&url.URL{Scheme: "https", Host: "s3.us-west-2.amazonaws.com"}, "b", "p/W C/topology.tar.gz")
	if u != "https://s3.us-west-2.amazonaws.com/b/p/W%20C/topology.tar.gz" {
		t.Errorf("objectURL = %s", u)
	}
}

func TestRegionAndCredentialsFromAWSFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[default]\nregion = eu-west-1\n[profile other]\nregion = ap-south-1\n"), 0o600)
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = AK1\naws_secret_access_key = SK1\n[other]\naws_access_key_id = AK2\naws_secret_access_key = SK2\n"), 0o600)
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	if r := (Settings{}).region(); r != "eu-west-1" {
		t.Errorf("default profile region = %s", r)
	}
	if r := (Settings{Profile: "other"}).region(); r != "ap-south-1" {
		t.Errorf("other profile region = %s", r)
	}
	c, err := Settings{Profile: "other"}.credentials()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get(); v.AccessKeyID != "AK2" {
		t.Errorf("profile other: %s", v.AccessKeyID)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "ENVAK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ENVSK")
	c, _ = Settings{}.credentials()
	if v, _ := c.Get(); v.AccessKeyID != "ENVAK" {
		t.Errorf("env credentials: %s", v.AccessKeyID)
	}
	if _, err := (Settings{AccessKey: "a"}).credentials(); err == nil {
		t.Error("access key without secret accepted")
	}
	if _, err := (Settings{AccessKey: "a", SecretKey: "b", Profile: "p"}).credentials(); err == nil {
		t.Error("keys and profile together accepted")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	if _, err := (Settings{}).credentials(); err == nil || !strings.Contains(err.Error(), "no S3 credentials") {
		t.Errorf("no credentials: %v", err)
	}
}

var makeBucketOpts = minio.MakeBucketOptions{}

func startBench(b *testing.B) *testserver.MinIO { return testserver.StartMinIO(b) }

// server starts MinIO with a bucket and returns settings for it.
func server(t *testing.T) (*testserver.MinIO, Settings, *minio.Client) {
	t.Helper()
	m := testserver.StartMinIO(t)
	s := Settings{Bucket: "heron", Endpoint: m.URL(), Region: "us-east-1", AccessKey: m.AccessKey, SecretKey: m.SecretKey}
	c, _, err := s.client()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MakeBucket(context.Background(), s.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return m, s, c
}

func randomFile(t testing.TB, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	p := filepath.Join(t.TempDir(), "topology.tar.gz")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func read(t *testing.T, c *minio.Client, bucket, key string) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := get(context.Background(), c, key, bucket, key, &buf, nil)
	return buf.Bytes(), err
}

func TestBackupUndoClose(t *testing.T) {
	_, s, c := server(t)
	ctx := context.Background()
	key := ObjectKey("p", "WordCount")
	v1, d1 := randomFile(t, 1000)
	v2, d2 := randomFile(t, 2000)

	backed, err := put(ctx, c, key, s.Bucket, key, v1, nil)
	if err != nil || backed {
		t.Fatalf("first put: backed=%v %v", backed, err)
	}
	if err := dropBackup(ctx, c, key, s.Bucket, key); err != nil {
		t.Fatal(err)
	}
	backed, err = put(ctx, c, key, s.Bucket, key, v2, nil)
	if err != nil || !backed {
		t.Fatalf("second put: backed=%v %v", backed, err)
	}
	if got, _ := read(t, c, s.Bucket, backupKey(key)); !bytes.Equal(got, d1) {
		t.Error("backup is not the previous version")
	}
	if got, _ := read(t, c, s.Bucket, key); !bytes.Equal(got, d2) {
		t.Error("package is not the new version")
	}
	// Undo brings the previous version back; close drops the backup.
	if err := restore(ctx, c, key, s.Bucket, key); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, c, s.Bucket, key); !bytes.Equal(got, d1) {
		t.Error("undo did not restore the previous version")
	}
	if err := dropBackup(ctx, c, key, s.Bucket, key); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, c, s.Bucket, backupKey(key)); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("backup after close: %v", err)
	}
	// Undo without a backup removes the package.
	if err := restore(ctx, c, key, s.Bucket, key); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, c, s.Bucket, key); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("package after undo without backup: %v", err)
	}
}

func TestFailures(t *testing.T) {
	m, s, _ := server(t)
	ctx := context.Background()
	local, _ := randomFile(t, 100)
	check := func(name string, s Settings, code int, want string) {
		t.Helper()
		c, _, err := s.client()
		if err == nil {
			_, err = put(ctx, c, "remote", s.Bucket, "k/topology.tar.gz", local, nil)
		}
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if exitcode.Code(err) != code || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %q (code %d), want code %d and %q on one line", name, err, exitcode.Code(err), code, want)
		}
	}
	bad := s
	bad.SecretKey = "wrong-secret-key"
	check("wrong secret", bad, exitcode.Forbidden, "SignatureDoesNotMatch")
	bad = s
	bad.AccessKey = "nobody"
	check("wrong access key", bad, exitcode.Forbidden, "InvalidAccessKeyId")
	bad = s
	bad.Bucket = "no-such-bucket"
	check("missing bucket", bad, exitcode.NotFound, "the bucket does not exist")
	bad = s
	bad.Endpoint = "http://" + testserver.Host + ":1"
	check("nothing listening", bad, exitcode.Unavailable, "cannot reach")
	_ = m
}

// TestCrashMidUpload kills MinIO during a multipart upload: the error is a
// network one, and after a restart the key does not exist (parts of an
// unfinished multipart upload are never an object): the previous package
// is still there, whole.
func TestCrashMidUpload(t *testing.T) {
	m, s, c := server(t)
	local, data := randomFile(t, 96<<20)
	key := ObjectKey("", "Crash")
	prev, prevData := randomFile(t, 5000)
	if _, err := put(context.Background(), c, key, s.Bucket, key, prev, nil); err != nil {
		t.Fatal(err)
	}
	pr := &killAt{at: 40 << 20, kill: func() { m.Process().Kill() }}
	errc := make(chan error, 1)
	go func() {
		f, _ := os.Open(local)
		defer f.Close()
		_, err := c.PutObject(context.Background(), s.Bucket, key, f, int64(len(data)),
			minio.PutObjectOptions{PartSize: partSize, NumThreads: partThreads, Progress: pr})
		errc <- s3Error(context.Background(), "upload to", "minio", err)
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Minute):
		t.Fatal("upload did not end after the crash")
	}
	if err == nil {
		t.Fatal("upload succeeded across a crash")
	}
	if exitcode.Code(err) != exitcode.Unavailable || strings.Contains(err.Error(), "\n") {
		t.Errorf("crash error: %q (code %d)", err, exitcode.Code(err))
	}
	m.Restart()
	if got, err := read(t, c, s.Bucket, key); err != nil || !bytes.Equal(got, prevData) {
		t.Fatalf("object after crash is not the previous package: %d bytes, %v", len(got), err)
	}
}

// killAt calls kill once at bytes have been reported as sent.
type killAt struct {
	mu    sync.Mutex
	n, at int64
	kill  func()
	done  bool
}

func (k *killAt) Read(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n += int64(len(b))
	if !k.done && k.n >= k.at {
		k.done = true
		k.kill()
	}
	return len(b), nil
}

// TestCancelMidUpload: an interrupted multipart upload is aborted, so no
// parts stay behind on the store.
func TestCancelMidUpload(t *testing.T) {
	_, s, c := server(t)
	local, _ := randomFile(t, 96<<20)
	key := ObjectKey("", "Cancel")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr := &killAt{at: 40 << 20, kill: cancel}
	f, _ := os.Open(local)
	defer f.Close()
	st, _ := f.Stat()
	_, err := c.PutObject(ctx, s.Bucket, key, f, st.Size(), minio.PutObjectOptions{PartSize: partSize, NumThreads: partThreads, Progress: pr})
	if err == nil {
		t.Fatal("cancelled upload succeeded")
	}
	for u := range c.ListIncompleteUploads(context.Background(), s.Bucket, key, true) {
		t.Errorf("incomplete upload left: %+v", u)
	}
	if _, err := read(t, c, s.Bucket, key); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("object after cancel: %v", err)
	}
}
