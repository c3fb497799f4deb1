package trackerapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
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
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	addr := net.JoinHostPort(o.Bind, strconv.Itoa(o.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		code := exitcode.Unavailable
		if errors.Is(err, syscall.EADDRINUSE) {
			code = exitcode.Conflict
			err = fmt.Errorf("%w (already in use)", err)
		}
		return exitcode.WithHint(exitcode.Wrap(code, fmt.Errorf("listen on %s: %w", addr, err)),
			"choose another --port or --bind, or stop what is using it")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tr := tracker.New(o.Config, tracker.Options{Log: log})
	api := New(tr, Options{Log: log, Registry: reg})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}

	runCtx, stopTracker := context.WithCancel(context.Background())
	trackerDone := make(chan struct{})
	go func() { _ = tr.Run(runCtx); close(trackerDone) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// Ready once the first listing of every state manager is in (bounded),
	// so a supervisor never routes traffic to an empty tracker.
	select {
	case <-tr.Ready():
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
		log.Warn().Msg("state managers still not listed after 30 s; serving anyway")
	}
	listen := ln.Addr().String()
	host, port, _ := net.SplitHostPort(listen)
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	_ = cli.WriteJSON(stdout, map[string]any{"listen": listen, "url": "http://" + net.JoinHostPort(host, port)})
	log.Info().Str("listen", listen).Int("statemgrs", len(o.Config.StateManagers)).Msg("heron-tracker serving")
	if err := Notify(os.Getenv("NOTIFY_SOCKET"), "READY=1"); err != nil {
		log.Warn().Err(err).Msg("could not notify systemd")
	}

	var result error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			result = exitcode.Wrap(exitcode.Unavailable, fmt.Errorf("serve: %w", err))
		}
	}
	_ = Notify(os.Getenv("NOTIFY_SOCKET"), "STOPPING=1")
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownGrace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopTracker()
	<-trackerDone
	return result
}

// Notify sends a sd_notify message to systemd's socket (NOTIFY_SOCKET; a
// leading @ names an abstract socket). An empty socket is a no-op.
func Notify(socket, state string) error {
	if socket == "" {
		return nil
	}
	name := socket
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd at %s: %w", socket, err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}
