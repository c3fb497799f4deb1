package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/daemon"
	"github.com/heronkit/heronkit/lib/exitcode"
)

// Options are heron-ui's flags.
type Options struct {
	TrackerURL string
	Bind       string
	Port       int
	BaseURL    string
}

// Started is the one JSON line heron-ui prints on stdout once it listens,
// so scripts started with --port 0 learn the port.
type Started struct {
	Listen     string `json:"listen"`
	URL        string `json:"url"`
	TrackerURL string `json:"tracker_url"`
}

// Run listens on the bind address and serves the UI until ctx ends.
func Run(ctx context.Context, o Options, log zerolog.Logger, stdout io.Writer) error {
	if _, err := ParseTrackerURL(o.TrackerURL); err != nil {
		return err
	}
	base, err := CleanBaseURL(o.BaseURL)
	if err != nil {
		return err
	}
	if o.Port < 0 || o.Port > 65535 {
		return usageErrorf("--port %d is not a TCP port (0-65535; 0 picks a free one)", o.Port)
	}
	addr := net.JoinHostPort(o.Bind, strconv.Itoa(o.Port))
	ln, err := daemon.Listen(addr)
	if err != nil {
		var le *daemon.ListenError
		if errors.As(err, &le) && le.InUse() {
			return exitcode.WithHint(exitcode.Errorf(exitcode.Conflict, "listen on %s: address already in use", addr),
				"stop the other heron-ui (or whatever holds the port) or pick another --port")
		}
		return exitcode.Errorf(exitcode.Config, "%v; check --bind and --port", err)
	}
	cfg := Config{TrackerURL: o.TrackerURL, BaseURL: base, Log: log}
	return Serve(ctx, ln, cfg, func(a net.Addr) {
		host, port, _ := net.SplitHostPort(a.String())
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		url := fmt.Sprintf("http://%s%s/", net.JoinHostPort(host, port), base)
		log.Info().Str("listen", a.String()).Str("url", url).Str("tracker", o.TrackerURL).Msg("heron-ui ready")
		_ = cli.WriteJSON(stdout, Started{Listen: a.String(), URL: url, TrackerURL: o.TrackerURL})
	})
}
