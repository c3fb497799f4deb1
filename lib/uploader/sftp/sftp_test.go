package sftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

func TestParseTarget(t *testing.T) {
	home, _ := os.UserHomeDir()
	tg, err := ParseTarget("platform@example.org", `-i ~/.ssh/k -P 2222 -o "StrictHostKeyChecking=no" -q`, "platform@example.org", "-p 22 -o ConnectTimeout=5")
	if err != nil {
		t.Fatal(err)
	}
	if tg.User != "platform" || tg.Host != "example.org" || tg.Port != 2222 || tg.HostKeys != Off ||
		tg.ConnectTimeout != 5*time.Second || len(tg.IdentityFiles) != 1 || tg.IdentityFiles[0] != filepath.Join(home, ".ssh/k") {
		t.Errorf("got %+v", tg)
	}
	tg, err = ParseTarget("", "", "[::1]:2200", "-l streamer -oUserKnownHostsFile=/tmp/kh -o StrictHostKeyChecking=accept-new")
	if err != nil {
		t.Fatal(err)
	}
	if tg.User != "streamer" || tg.Host != "::1" || tg.Port != 2200 || tg.HostKeys != AcceptNew || tg.KnownHostsFiles[0] != "/tmp/kh" {
		t.Errorf("got %+v", tg)
	}
	for _, bad := range []struct{ conn, scp, ssh string }{
		{"", "", ""},
		{"host", "-J jump", ""},
		{"host", "-o ProxyCommand=nc", ""},
		{"host", "user@host", ""},
		{"host", "-P", ""},
		{"host", "-P x", ""},
		{"host", "-i 'unterminated", ""},
		{"host:0", "", ""},
	} {
		if _, err := ParseTarget(bad.conn, bad.scp, "", bad.ssh); err == nil {
			t.Errorf("ParseTarget(%q, %q, %q): no error", bad.conn, bad.scp, bad.ssh)
		}
	}
}

// target makes a Target for the test server with its key and known hosts.
func target(t *testing.T, s *testserver.SSHD, extra string) *Target {
	t.Helper()
	tg, err := ParseTarget(s.User+"@"+testserver.Host, "-P "+strconv.Itoa(s.Port)+" -i "+s.ClientKey+
		" -o UserKnownHostsFile="+s.KnownHosts+" -o IdentitiesOnly=yes "+extra, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tg
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

func TestPutGetRemove(t *testing.T) {
	s := testserver.StartSSHD(t)
	tg := target(t, s, "")
	ctx := context.Background()
	local, data := randomFile(t, 3<<20+17)
	remote := filepath.Join(s.Root, "a", "b", "wc-tag-0.tar.gz")
	if err := put(ctx, tg, local, remote, os.Stderr); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(remote)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("remote file differs (%d bytes, %v)", len(got), err)
	}
	// Overwrite with a new version.
	local2, data2 := randomFile(t, 1000)
	if err := put(ctx, tg, local2, remote, nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := get(ctx, tg, remote, &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), data2) {
		t.Fatalf("get: %v (%d bytes)", err, buf.Len())
	}
	entries, _ := os.ReadDir(filepath.Dir(remote))
	if len(entries) != 1 {
		t.Errorf("left in the remote dir: %v", entries)
	}
	if err := remove(ctx, tg, remote); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(remote); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("remote file still there: %v", err)
	}
	// Removing again is fine; getting it is a not-found error.
	if err := remove(ctx, tg, remote); err != nil {
		t.Fatal(err)
	}
	err = get(ctx, tg, remote, &buf, nil)
	if exitcode.Code(err) != exitcode.NotFound || !strings.Contains(err.Error(), remote) {
		t.Errorf("get of a removed file: %v (code %d)", err, exitcode.Code(err))
	}
}

func TestLoginFailures(t *testing.T) {
	s := testserver.StartSSHD(t)
	ctx := context.Background()
	local, _ := randomFile(t, 10)
	remote := filepath.Join(s.Root, "x.tar.gz")
	check := func(name string, err error, code int, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if exitcode.Code(err) != code || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %q (code %d), want code %d and %q on one line", name, err, exitcode.Code(err), code, want)
		}
		if _, serr := os.Stat(remote); serr == nil {
			t.Errorf("%s: file uploaded anyway", name)
		}
	}

	wrongKey, err := ParseTarget(s.User+"@"+testserver.Host, "-P "+strconv.Itoa(s.Port)+" -i "+s.NewKey(t)+
		" -o UserKnownHostsFile="+s.KnownHosts+" -o IdentitiesOnly=yes", "", "")
	if err != nil {
		t.Fatal(err)
	}
	check("wrong key", put(ctx, wrongKey, local, remote, nil), exitcode.Forbidden, "authentication failed")

	t.Setenv(PasswordEnv, "not-the-password")
	check("wrong password", put(ctx, wrongKey, local, remote, nil), exitcode.Forbidden, "authentication failed")
	t.Setenv(PasswordEnv, "")

	unknown := target(t, s, "")
	unknown.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "empty")}
	check("unknown host", put(ctx, unknown, local, remote, nil), exitcode.Forbidden, "is unknown")

	other := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(other, []byte(testserver.KnownHostsLine(s.Addr(), mustKey(t, s.NewKey(t)))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed := target(t, s, "")
	changed.KnownHostsFiles = []string{other}
	check("changed host key", put(ctx, changed, local, remote, nil), exitcode.Forbidden, "does not match")

	// -o StrictHostKeyChecking=no turns the check off.
	off := target(t, s, "-o StrictHostKeyChecking=no")
	off.KnownHostsFiles = []string{other}
	if err := put(ctx, off, local, remote, nil); err != nil {
		t.Fatalf("checking off: %v", err)
	}
	os.Remove(remote)

	// accept-new records an unknown key, then checks it.
	fresh := filepath.Join(t.TempDir(), "kh", "known_hosts")
	an := target(t, s, "-o StrictHostKeyChecking=accept-new")
	an.KnownHostsFiles = []string{fresh}
	if err := put(ctx, an, local, remote, nil); err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	if b, _ := os.ReadFile(fresh); !strings.Contains(string(b), s.HostKey.Type()) {
		t.Errorf("accept-new wrote %q", b)
	}
	os.Remove(remote)

	closed := target(t, s, "")
	closed.Port = testserver.FreePort(t)
	check("nothing listening", put(ctx, closed, local, remote, nil), exitcode.Unavailable, "cannot reach")

	denied := target(t, s, "")
	if os.Geteuid() != 0 {
		check("read-only dir", put(ctx, denied, local, "/proc/heron/x.tar.gz", nil), exitcode.Forbidden, "permission denied")
	} else {
		// root may write anywhere but /proc.
		err := put(ctx, denied, local, "/proc/heron/x.tar.gz", nil)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "/proc/heron") {
			t.Errorf("unwritable dir: %v", err)
		}
	}
}

func mustKey(t *testing.T, privPath string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(privPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCrashMidUpload kills the server (daemon and connections) while a
// package is on its way: the upload fails with a network error, the final
// name never appears, and the next upload clears the stale temporary.
func TestCrashMidUpload(t *testing.T) {
	s := testserver.StartSSHD(t)
	tg := target(t, s, "")
	local, data := randomFile(t, 64<<20)
	remote := filepath.Join(s.Root, "crash", "wc-tag-0.tar.gz")
	if err := os.MkdirAll(filepath.Dir(remote), 0o755); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- put(context.Background(), tg, local, remote, nil) }()
	// Kill once some bytes are in the temporary.
	err := testserver.Poll(context.Background(), 60*time.Second, func() error {
		entries, _ := os.ReadDir(filepath.Dir(remote))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && transfer.IsTempOf(e.Name(), remote) && fi.Size() > 1<<20 {
				return nil
			}
		}
		select {
		case err := <-errc:
			t.Fatalf("upload ended before the crash: %v", err)
		default:
		}
		return errors.New("no partial temporary yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Crash()
	err = <-errc
	if err == nil {
		t.Fatal("upload succeeded across a crash")
	}
	if exitcode.Code(err) != exitcode.Unavailable || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), s.Addr()) {
		t.Errorf("crash error: %q (code %d)", err, exitcode.Code(err))
	}
	if _, err := os.Stat(remote); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final name visible after a crash: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(remote))
	if len(entries) != 1 || !transfer.IsTempOf(entries[0].Name(), remote) {
		t.Fatalf("remote dir after crash: %v", entries)
	}
	// The next upload after restart removes the temporary once it is stale.
	stale := filepath.Join(filepath.Dir(remote), entries[0].Name())
	old := time.Now().Add(-2 * transfer.StaleAfter)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if err := put(context.Background(), tg, local, remote, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(remote)
	if !bytes.Equal(got, data) {
		t.Error("package differs after retry")
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary left: %v", err)
	}
}

// TestNetworkCut drops the connection mid-upload through a proxy.
func TestNetworkCut(t *testing.T) {
	s := testserver.StartSSHD(t)
	p := testserver.StartProxy(t, s.Addr())
	tg := target(t, s, "")
	_, port, _ := strings.Cut(p.Addr(), ":")
	tg.Port, _ = strconv.Atoi(port)
	// The known_hosts entry names the server's port; trust by key only.
	tg.HostKeys = Off
	local, _ := randomFile(t, 64<<20)
	remote := filepath.Join(s.Root, "cut.tar.gz")
	errc := make(chan error, 1)
	go func() { errc <- put(context.Background(), tg, local, remote, nil) }()
	_ = testserver.Poll(context.Background(), 60*time.Second, func() error {
		entries, _ := os.ReadDir(s.Root)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Size() > 1<<20 {
				return nil
			}
		}
		return errors.New("waiting")
	})
	p.Block()
	err := <-errc
	if exitcode.Code(err) != exitcode.Unavailable {
		t.Errorf("cut: %v (code %d)", err, exitcode.Code(err))
	}
	if _, err := os.Stat(remote); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final name visible after a cut: %v", err)
	}
}

// TestCancelMidUpload: SIGINT (a cancelled context) stops the upload; the
// error says so and the package never appears.
func TestCancelMidUpload(t *testing.T) {
	s := testserver.StartSSHD(t)
	tg := target(t, s, "")
	local, _ := randomFile(t, 64<<20)
	remote := filepath.Join(s.Root, "cancel.tar.gz")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- put(ctx, tg, local, remote, nil) }()
	_ = testserver.Poll(context.Background(), 60*time.Second, func() error {
		entries, _ := os.ReadDir(s.Root)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Size() > 1<<20 {
				return nil
			}
		}
		return errors.New("waiting")
	})
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled upload: %v", err)
	}
	if entries, _ := os.ReadDir(s.Root); len(entries) != 0 {
		t.Errorf("left on the server after cancel: %v", entries)
	}
}
