package ui

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ShutdownGrace is how long in-flight requests (log tails, downloads) get
// to finish after SIGTERM.
const ShutdownGrace = 10 * time.Second

// Listening is told the address once the server accepts connections.
type Listening func(addr net.Addr)

// Serve runs the UI with /metrics on ln until ctx ends, then shuts down
// gracefully. It tells systemd it is ready when NOTIFY_SOCKET is set.
func Serve(ctx context.Context, ln net.Listener, cfg Config, ready Listening) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Registry = reg
	s, err := New(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	mux.Handle("GET /metrics", metrics)
	if s.base != "" {
		mux.Handle("GET "+s.base+"/metrics", metrics)
	}
	mux.Handle("/", s)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	if err := Notify(os.Getenv("NOTIFY_SOCKET"), "READY=1"); err != nil {
		cfg.Log.Warn().Err(err).Msg("systemd readiness notification failed")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	_ = Notify(os.Getenv("NOTIFY_SOCKET"), "STOPPING=1")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Notify sends state to systemd's notification socket (sd_notify); an
// empty socket means not run by systemd, and nothing is sent.
func Notify(socket, state string) error {
	if socket == "" {
		return nil
	}
	if socket[0] == '@' {
		socket = "\x00" + socket[1:] // abstract socket namespace
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
