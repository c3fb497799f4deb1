package ui

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/heronkit/heronkit/lib/daemon"
)

// ShutdownGrace is how long in-flight requests (log tails, downloads) get
// to finish after SIGTERM.
const ShutdownGrace = 10 * time.Second

// Listening is told the address once the server accepts connections.
type Listening func(addr net.Addr)

// Serve runs the UI with /metrics on ln until ctx ends, then shuts down
// gracefully. It tells systemd it is ready when NOTIFY_SOCKET is set.
func Serve(ctx context.Context, ln net.Listener, cfg Config, ready Listening) error {
	reg := daemon.NewRegistry()
	cfg.Registry = reg
	s, err := New(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	metrics := daemon.MetricsHandler(reg)
	mux.Handle("GET /metrics", metrics)
	if s.base != "" {
		mux.Handle("GET "+s.base+"/metrics", metrics)
	}
	mux.Handle("/", s)
	srv := &daemon.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   ShutdownGrace,
		OnReady: func(_ context.Context, a net.Addr) {
			if ready != nil {
				ready(a)
			}
		},
		OnNotifyError: func(err error) { cfg.Log.Warn().Err(err).Msg("systemd readiness notification failed") },
	}
	return srv.Serve(ctx, ln)
}
