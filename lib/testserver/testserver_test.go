package testserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/freeport"
)

func TestFreePortIsListenable(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort(Host, itoa(port)))
	if err != nil {
		t.Fatalf("listen on free port %d: %v", port, err)
	}
	l.Close()
}

// FreePort never hands out a port of the kernel's ephemeral range, which
// an outgoing connection could take before the server binds it (the old
// listen-on-:0 way always did), nor the same port twice.
func TestFreePortAvoidsEphemeralRange(t *testing.T) {
	lo, hi := freeport.EphemeralRange()
	seen := map[int]bool{}
	for range 100 {
		p := FreePort(t)
		if p >= lo && p <= hi {
			t.Fatalf("FreePort = %d, in the ephemeral range %d-%d", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("FreePort handed out %d twice", p)
		}
		seen[p] = true
	}
}

func TestWaitTCPAndHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := WaitTCP(ctx, srv.Listener.Addr().String(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := WaitHTTP(ctx, srv.URL, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	closed := net.JoinHostPort(Host, itoa(FreePort(t)))
	if err := WaitTCP(ctx, closed, 200*time.Millisecond); err == nil {
		t.Fatalf("WaitTCP on closed port %s succeeded", closed)
	}
}

func TestProcessStopsByPID(t *testing.T) {
	sh := Require(t, "sh")
	// Stop (SIGTERM) ends a plain sleep; Kill (SIGKILL) ends one that ignores SIGTERM.
	p := StartProcess(t, "sleeper", exec.Command(sh, "-c", "echo started; exec sleep 60"))
	if err := Poll(context.Background(), 5*time.Second, func() error {
		if !strings.Contains(p.Tail(5), "started") {
			return io.EOF
		}
		return nil
	}); err != nil {
		t.Fatalf("no output captured in %s: %v", p.LogPath(), err)
	}
	if p.PID() == 0 || !p.Running() {
		t.Fatal("process not running")
	}
	p.Stop()
	if p.Running() {
		t.Fatal("process still running after Stop")
	}
	if err := p.Restart(exec.Command(sh, "-c", "trap '' TERM; sleep 60")); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if p.Running() {
		t.Fatal("process still running after Kill")
	}
}

func TestProxyBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", Host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p := StartProxy(t, ln.Addr().String())
	echo := func() error {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hi")); err != nil {
			return err
		}
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		return err
	}
	if err := echo(); err != nil {
		t.Fatalf("echo through proxy: %v", err)
	}
	p.Block()
	if err := echo(); err == nil {
		t.Fatal("echo through blocked proxy succeeded")
	}
	p.Unblock()
	if err := echo(); err != nil {
		t.Fatalf("echo after unblock: %v", err)
	}
}

func TestZooKeeperRestart(t *testing.T) {
	z := StartZooKeeper(t)
	out, err := z.FourLetter("ruok")
	if err != nil || out != "imok\n" {
		t.Fatalf("ruok = %q, %v", out, err)
	}
	z.Stop()
	if _, err := z.FourLetter("ruok"); err == nil {
		t.Fatal("server still answers after Stop")
	}
	z.Start()
	if out, err := z.FourLetter("srvr"); err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("srvr after restart = %q, %v", out, err)
	}
}

// BenchmarkZooKeeperStart measures a cold start until the server serves.
func BenchmarkZooKeeperStart(b *testing.B) {
	for b.Loop() {
		z := StartZooKeeper(b)
		z.Stop()
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
