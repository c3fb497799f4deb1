// Package daemon is what every HTTP daemon of the toolkit shares (DESIGN
// §5): listening with a port conflict reported as such, optional TLS,
// systemd readiness notification, graceful shutdown when the command's
// context ends (SIGTERM), Prometheus request metrics, /healthz and /metrics.
//
// The package never logs: each daemon says what it wants through hooks, so
// its log lines stay its own.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// DefaultShutdownTimeout is how long in-flight requests may run after the
// context ends when Server.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 10 * time.Second

// ListenError is why Listen failed. Its exit code is exitcode.Conflict when
// the port is taken (another daemon runs there), else exitcode.Unavailable.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return "listen on " + e.Addr + ": " + e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// InUse tells whether the address was already taken.
func (e *ListenError) InUse() bool { return errors.Is(e.Err, syscall.EADDRINUSE) }

// ExitCode is read by exitcode.Code.
func (e *ListenError) ExitCode() int {
	if e.InUse() {
		return exitcode.Conflict
	}
	return exitcode.Unavailable
}

// Listen binds addr (host:port; port 0 picks a free one) over TCP. Its
// errors are *ListenError.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &ListenError{Addr: addr, Err: err}
	}
	return ln, nil
}

// Server serves one handler until its context ends. The zero timeouts are
// net/http's (none) except ShutdownTimeout.
type Server struct {
	Handler http.Handler
	// TLSCert and TLSKey, PEM files, turn on HTTPS (TLS 1.2 or later).
	TLSCert, TLSKey string
	// ShutdownTimeout bounds how long in-flight requests may finish once
	// the context ends; they are cut after it (0: DefaultShutdownTimeout).
	ShutdownTimeout time.Duration

	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// ErrorLog receives net/http's own complaints (nil: the log package).
	ErrorLog *log.Logger

	// OnReady runs once the listener accepts connections, before systemd
	// hears READY=1: the daemon announces its address here, and may wait
	// (bounded, watching ctx) for its data to be ready first.
	OnReady func(ctx context.Context, addr net.Addr)
	// OnNotifyError gets a failed READY=1 notification, to log it.
	OnNotifyError func(err error)
	// OnStopping runs when the context has ended, after STOPPING=1 and
	// before the in-flight requests are waited for.
	OnStopping func()
	// OnCut gets the error when requests outlived ShutdownTimeout and
	// their connections were closed.
	OnCut func(err error)
}

// Serve answers requests on ln until ctx ends, then stops taking
// connections, lets the in-flight requests finish within ShutdownTimeout
// and returns nil. It closes ln. An unreadable certificate is an
// exitcode.Config error; a listener failing while serving is returned as is.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          s.ErrorLog,
	}
	if s.TLSCert != "" || s.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			ln.Close()
			return exitcode.Errorf(exitcode.Config, "load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	if s.OnReady != nil {
		s.OnReady(ctx, ln.Addr())
	}
	if err := Notify("READY=1"); err != nil && s.OnNotifyError != nil {
		s.OnNotifyError(err)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	_ = Notify("STOPPING=1")
	if s.OnStopping != nil {
		s.OnStopping()
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		if s.OnCut != nil {
			s.OnCut(err)
		}
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
