package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// notifySocket listens where systemd would and points NOTIFY_SOCKET there.
func notifySocket(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

func readState(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 256)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	path := notifySocket(t, filepath.Join(t.TempDir(), "notify"))
	if err := Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, path); got != "READY=1" {
		t.Errorf("path socket got %q", got)
	}
	if err := NotifySocket(os.Getenv("NOTIFY_SOCKET"), "STATUS=serving 3 topologies"); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, path); got != "STATUS=serving 3 topologies" {
		t.Errorf("status got %q", got)
	}

	// systemd may name an abstract socket: '@' then the name.
	abstract := notifySocket(t, fmt.Sprintf("@heronkit-daemon-test-%d", os.Getpid()))
	if err := Notify("STOPPING=1"); err != nil {
		t.Fatal(err)
	}
	if got := readState(t, abstract); got != "STOPPING=1" {
		t.Errorf("abstract socket got %q", got)
	}

	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
	if err := NotifySocket(filepath.Join(t.TempDir(), "nobody"), "READY=1"); err == nil {
		t.Error("a socket nobody listens on: no error")
	}
}

// The server announces itself, and on cancel says STOPPING, refuses new
// connections and lets the request in flight finish.
func TestServeGracefulShutdown(t *testing.T) {
	sock := notifySocket(t, filepath.Join(t.TempDir(), "notify"))
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	readyAddr := make(chan net.Addr, 1)
	stopping := make(chan struct{})
	srv := &Server{
		Handler:         mux,
		ShutdownTimeout: time.Minute,
		OnReady:         func(_ context.Context, a net.Addr) { readyAddr <- a },
		OnStopping:      func() { close(stopping) },
		OnCut:           func(err error) { t.Errorf("request cut: %v", err) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	if got := readState(t, sock); got != "READY=1" {
		t.Fatalf("first notification %q", got)
	}
	if a := <-readyAddr; a.String() != ln.Addr().String() {
		t.Fatalf("OnReady got %v, want %v", a, ln.Addr())
	}
	addr := ln.Addr().String()
	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-started
	cancel()
	if got := readState(t, sock); got != "STOPPING=1" {
		t.Fatalf("second notification %q", got)
	}
	<-stopping
	// Shutdown closes the listener right after STOPPING: wait (bounded)
	// until a new connection is refused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-inflight:
		t.Fatalf("in-flight request ended before its handler did: %+v", r)
	case err := <-done:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	default:
	}
	close(release)
	if r := <-inflight; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// A request outliving ShutdownTimeout is cut and reported.
func TestServeCutsAtDeadline(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cut := make(chan error, 1)
	srv := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
		}),
		ShutdownTimeout: time.Millisecond,
		OnCut:           func(err error) { cut <- err },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := <-cut; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OnCut got %v", err)
	}
}

func TestListenConflict(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = Listen(taken.Addr().String())
	var le *ListenError
	if !errors.As(err, &le) || !le.InUse() {
		t.Fatalf("want an in-use ListenError, got %v", err)
	}
	if exitcode.Code(err) != exitcode.Conflict {
		t.Errorf("exit code %d, want Conflict", exitcode.Code(err))
	}
	if want := "listen on " + taken.Addr().String() + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("message %q", err)
	}
	// Any other failure (a host that is not ours) is Unavailable.
	_, err = Listen("192.0.2.1:0")
	if !errors.As(err, &le) || le.InUse() || exitcode.Code(err) != exitcode.Unavailable {
		t.Errorf("foreign address: %v (code %d)", err, exitcode.Code(err))
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "heronkit test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	certFile, keyFile, pool := writeCert(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = fmt.Fprintf(w, "tls=%v", r.TLS != nil)
		}),
		TLSCert: certFile, TLSKey: keyFile,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "tls=true" || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("got %q over %+v", b, resp.TLS)
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "tls=") {
			t.Errorf("plain HTTP answered: %q", b)
		}
	}
}

func TestServeBadCertificate(t *testing.T) {
	certFile, _, _ := writeCert(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: http.NotFoundHandler(), TLSCert: certFile, TLSKey: certFile}
	err = srv.Serve(context.Background(), ln)
	if exitcode.Code(err) != exitcode.Config || !strings.Contains(err.Error(), "load TLS certificate") {
		t.Errorf("want a Config error, got %v", err)
	}
	// The listener is released.
	if l2, err := net.Listen("tcp", ln.Addr().String()); err != nil {
		t.Errorf("port still held: %v", err)
	} else {
		l2.Close()
	}
}
