package trackerapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/daemon"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/tracker"
)

// ServeOptions configures Serve.
type ServeOptions struct {
	Config *tracker.Config
	// Bind and Port are where to listen; port 0 picks a free one.
	Bind string
	Port int
	// ShutdownGrace bounds how long open requests may finish (default 10 s).
	ShutdownGrace time.Duration
	// MemoryLimitMB is a soft limit for the Go heap (debug.SetMemoryLimit);
	// 0 leaves the runtime's default (or GOMEMLIMIT) alone. The tracker's
	// live data is small, so a limit keeps the garbage of busy serving and
	// file polling from inflating RSS.
	MemoryLimitMB int
}

// Serve runs heron-tracker until ctx ends: it watches the state managers,
// serves the API, /healthz and Prometheus /metrics, prints one JSON line
// {"listen","url"} on stdout once listening, tells systemd it is ready when
// NOTIFY_SOCKET is set, and drains open requests on shutdown.
func Serve(ctx context.Context, o ServeOptions, log zerolog.Logger, stdout io.Writer) error {
	if err := o.Config.Validate(); err != nil {
		return exitcode.Wrap(exitcode.Config, err)
	}
	if o.MemoryLimitMB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(o.MemoryLimitMB) << 20)
	}
	addr := net.JoinHostPort(o.Bind, strconv.Itoa(o.Port))
	ln, err := daemon.Listen(addr)
	if err != nil {
		return exitcode.WithHint(err, "choose another --port or --bind, or stop what is using it")
	}
	reg := daemon.NewRegistry()
	tr := tracker.New(o.Config, tracker.Options{Log: log})
	api := New(tr, Options{Log: log, Registry: reg})
	mux := http.NewServeMux()
	mux.Handle("/metrics", daemon.MetricsHandler(reg))
	mux.Handle("/", api)

	runCtx, stopTracker := context.WithCancel(context.Background())
	trackerDone := make(chan struct{})
	go func() { _ = tr.Run(runCtx); close(trackerDone) }()
	defer func() { stopTracker(); <-trackerDone }()

	srv := &daemon.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ShutdownTimeout:   o.ShutdownGrace,
		// Ready once the first listing of every state manager is in
		// (bounded), so a supervisor never routes traffic to an empty
		// tracker.
		OnReady: func(ctx context.Context, a net.Addr) {
			select {
			case <-tr.Ready():
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				log.Warn().Msg("state managers still not listed after 30 s; serving anyway")
			}
			listen := a.String()
			host, port, _ := net.SplitHostPort(listen)
			if host == "0.0.0.0" || host == "::" || host == "" {
				host = "127.0.0.1"
			}
			_ = cli.WriteJSON(stdout, map[string]any{"listen": listen, "url": "http://" + net.JoinHostPort(host, port)})
			log.Info().Str("listen", listen).Int("statemgrs", len(o.Config.StateManagers)).Msg("heron-tracker serving")
		},
		OnNotifyError: func(err error) {
			log.Warn().Err(fmt.Errorf("notify systemd at %s: %w", os.Getenv("NOTIFY_SOCKET"), err)).Msg("could not notify systemd")
		},
		OnStopping: func() { log.Info().Msg("shutting down") },
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return exitcode.Wrap(exitcode.Unavailable, fmt.Errorf("serve: %w", err))
	}
	return nil
}
