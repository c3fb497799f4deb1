package testserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// MinIOVersion is the MinIO module version .ci/servers/minio.sh builds (a
// pseudo-version: MinIO tags releases as RELEASE.*, which Go does not take).
// Keep the two in step.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIOBinaryEnv names a MinIO server binary to use instead of the cached build.
const MinIOBinaryEnv = "HERON_MINIO"

const minioReadyTimeout = 60 * time.Second

// MinIOBinary is where .ci/servers/minio.sh leaves the server: a cache dir
// that outlives the work tree, so the minutes-long build happens once per
// machine.
func MinIOBinary() string {
	if p := os.Getenv(MinIOBinaryEnv); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "heronkit", "servers", "minio-"+MinIOVersion, "minio")
}

// MinIO is a real single-drive MinIO server on 127.0.0.1 with its data in the
// test's temp dir, stopped by PID at the end of the test.
type MinIO struct {
	t    testing.TB
	bin  string
	proc *Process

	// Port is the S3 API port on Host.
	Port int
	// DataDir holds the buckets and objects.
	DataDir string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string
}

// StartMinIO starts a fresh MinIO and stops it when the test ends. A missing
// binary skips the test (fails it when CI=true).
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := MinIOBinary()
	if _, err := os.Stat(bin); err != nil {
		if p, lerr := exec.LookPath("minio"); lerr == nil && os.Getenv(MinIOBinaryEnv) == "" {
			bin = p
		} else {
			Missing(t, "MinIO server "+bin, "run .ci/servers/minio.sh to build it, or set "+MinIOBinaryEnv)
		}
	}
	m := &MinIO{t: t, bin: bin, Port: FreePort(t), DataDir: filepath.Join(t.TempDir(), "data"),
		AccessKey: "heron-test", SecretKey: "heron-test-secret"}
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.proc = StartProcess(t, "minio", m.command())
	m.waitReady()
	return m
}

func (m *MinIO) command() *exec.Cmd {
	cmd := exec.Command(m.bin, "server", m.DataDir, "--address", m.Endpoint(), "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		// No web console (it would open a second, random port) and no
		// update checks (there is no network).
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
	)
	return cmd
}

func (m *MinIO) waitReady() {
	m.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := m.proc.Exited()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := WaitHTTP(ctx, m.URL()+"/minio/health/ready", minioReadyTimeout); err != nil {
		m.t.Fatalf("minio on %s: %v\n%s", m.Endpoint(), err, m.proc.Tail(20))
	}
}

// Endpoint is the server's host:port.
func (m *MinIO) Endpoint() string { return net.JoinHostPort(Host, strconv.Itoa(m.Port)) }

// URL is the server's base URL (plain HTTP).
func (m *MinIO) URL() string { return "http://" + m.Endpoint() }

// Process is the running server, to kill or stop it in a test.
func (m *MinIO) Process() *Process { return m.proc }

// Restart starts the server again on the same port and data dir.
func (m *MinIO) Restart() {
	m.t.Helper()
	if err := m.proc.Restart(m.command()); err != nil {
		m.t.Fatalf("restart minio: %v", err)
	}
	m.waitReady()
}
