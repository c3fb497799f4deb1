package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/daemon"
	"github.com/heronkit/heronkit/lib/exitcode"
)

// KeyFileDirectory is Heron's key for the directory the file endpoints
// serve (Heron ships it only in conf/nomad/cluster.yaml).
const KeyFileDirectory = "heron.apiserver.http.file.system.directory"

// KeyOverrideFile is Heron's key naming the API server's -D override file.
const KeyOverrideFile = "heron.apiserver.file.override.yaml"

// DefaultMaxUpload is the default limit on one uploaded file.
const DefaultMaxUpload = 1 << 30

// Options configure a Server. Cluster and ConfigDir are required.
type Options struct {
	// Cluster is the cluster served; submits naming another are refused.
	Cluster string
	// ConfigDir is the cluster folder (conf/<cluster>).
	ConfigDir string
	// Properties are the -D KEY=VALUE overrides, in order.
	Properties []string
	// ReleaseFile is Heron's release.yaml; "" uses the toolkit's own version.
	ReleaseFile string
	// HeronHome is heron.directory.home for the cluster config ("": Heron's
	// choice, ~/.heron for the local cluster, else ./heron-core).
	HeronHome string

	// Addr is the listen address, host:port ("" host: every interface).
	Addr string
	// DownloadHostname is the host put into the URLs /file/upload returns
	// ("": the machine's host name).
	DownloadHostname string
	// CorePackagePath is the file served at /api/v1/file/download/core.
	CorePackagePath string
	// UploadDir overrides heron.apiserver.http.file.system.directory.
	UploadDir string
	// MaxUploadBytes limits one uploaded file (<= 0: DefaultMaxUpload).
	MaxUploadBytes int64
	// Token, when set, is the bearer token every mutating request needs.
	Token string
	// TLSCert and TLSKey turn on HTTPS.
	TLSCert, TLSKey string
	// ShutdownTimeout bounds the graceful shutdown (0: 30 s).
	ShutdownTimeout time.Duration
	// Ready, when set, is called once listening with the bound address and
	// base URL (the command prints them as one JSON line).
	Ready func(addr, url string)

	// Lifecycle runs the topology commands; nil uses the lifecycle library.
	Lifecycle Lifecycle
	Log       zerolog.Logger
}

// Server is a running API server's state.
type Server struct {
	opts    Options
	base    *config.Config // the cluster config with -D applied (local mode)
	files   *FileStore
	life    Lifecycle
	log     zerolog.Logger
	metrics *metrics
	handler http.Handler
	release map[string]string

	port   atomic.Int64 // the bound port, for download URLs
	scheme string
}

// New loads the cluster configuration and opens the file store. It does not
// listen; see Serve.
func New(opts Options) (*Server, error) {
	if opts.Cluster == "" {
		return nil, exitcode.New(exitcode.Usage, "--cluster is required")
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUpload
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, exitcode.New(exitcode.Usage, "--tls-cert and --tls-key go together: give both or neither")
	}
	s := &Server{opts: opts, log: opts.Log, metrics: newMetrics(), scheme: "http"}
	if opts.TLSCert != "" {
		s.scheme = "https"
	}
	base, err := s.loadConfig()
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	s.base = base
	dir := opts.UploadDir
	if dir == "" {
		if dir, err = base.String(KeyFileDirectory, ""); err != nil {
			return nil, exitcode.Wrap(exitcode.Config, err)
		}
	}
	if dir == "" {
		// Heron writes to a directory literally named "null" here; a
		// directory under the user's data is what was meant.
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".herondata", "apiserver", "files")
	}
	if s.files, err = OpenFileStore(dir); err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	s.files.CleanPartial(time.Hour)
	if s.release, err = readRelease(opts.ReleaseFile); err != nil {
		s.files.Close()
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	s.life = opts.Lifecycle
	if s.life == nil {
		s.life = defaultLifecycle(s)
	}
	s.handler = s.routes()
	return s, nil
}

// loadConfig loads the cluster folder as Heron's API server does: the
// server's -D properties act as the override file.
func (s *Server) loadConfig() (*config.Config, error) {
	home := s.opts.HeronHome
	if home == "" {
		if strings.EqualFold(s.opts.Cluster, "local") {
			h, _ := os.UserHomeDir()
			home = filepath.Join(h, ".heron")
		} else {
			home = "./heron-core"
		}
	}
	return config.Load(config.LoadOptions{
		Dir:        s.opts.ConfigDir,
		Cluster:    s.opts.Cluster,
		HeronHome:  home,
		Properties: s.opts.Properties,
		Role:       currentUser(),
		SubmitUser: currentUser(),
	})
}

// Config is the server's base configuration.
func (s *Server) Config() *config.Config { return s.base }

// Files is the server's file store.
func (s *Server) Files() *FileStore { return s.files }

// Handler is the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases the file store.
func (s *Server) Close() error { return s.files.Close() }

// Listen binds the configured address.
func (s *Server) Listen() (net.Listener, error) {
	addr := s.opts.Addr
	if addr == "" {
		addr = ":9000"
	}
	ln, err := daemon.Listen(addr) // a port in use is a conflict
	if err != nil {
		return nil, err
	}
	s.port.Store(int64(ln.Addr().(*net.TCPAddr).Port))
	return ln, nil
}

// SetPort sets the port used in download URLs (for a handler served by
// someone else's listener).
func (s *Server) SetPort(p int) { s.port.Store(int64(p)) }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// no new connections, running requests (a submit, an upload) get
// ShutdownTimeout to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &daemon.Server{
		Handler:           s.handler,
		TLSCert:           s.opts.TLSCert,
		TLSKey:            s.opts.TLSKey,
		ShutdownTimeout:   s.opts.ShutdownTimeout,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(&stdLogger{log: s.log}, "", 0),
		OnReady: func(_ context.Context, addr net.Addr) {
			url := fmt.Sprintf("%s://%s", s.scheme, addr)
			s.log.Info().Str("url", url).Str("cluster", s.opts.Cluster).Str("files", s.files.Dir()).
				Bool("auth", s.opts.Token != "").Msg("heron-apiserver listening")
			if s.opts.Ready != nil {
				s.opts.Ready(addr.String(), url)
			}
		},
		OnNotifyError: func(err error) { s.log.Warn().Err(err).Msg("systemd notification failed") },
		OnStopping:    func() { s.log.Info().Msg("shutting down: waiting for running requests") },
		OnCut: func(err error) {
			s.log.Warn().Err(err).Msg("requests still running at the shutdown deadline were cut")
		},
	}
	if err := hs.Serve(ctx, ln); err != nil {
		if exitcode.Code(err) == exitcode.Failure {
			err = exitcode.Wrap(exitcode.Unavailable, err)
		}
		return err
	}
	return nil
}

// downloadURL is what /file/upload answers: Heron's
// http://<host>:<port>/api/v1/file/download/<name>.
func (s *Server) downloadURL(r *http.Request, name string) string {
	host := s.opts.DownloadHostname
	if host == "" {
		host, _ = os.Hostname()
	}
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s://%s/api/v1/file/download/%s", s.scheme,
		net.JoinHostPort(host, strconv.Itoa(int(s.port.Load()))), name)
}

// stdLogger sends net/http's own complaints (TLS handshakes...) to zerolog.
type stdLogger struct{ log zerolog.Logger }

func (l *stdLogger) Write(p []byte) (int, error) {
	l.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

var errNoCore = errors.New("no core package configured: start heron-apiserver with --heron-core-package-path")

// Run loads, listens and serves until ctx ends: the whole heron-apiserver.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// ParseSize reads a byte count: a number with an optional unit B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB, T/TB/TiB (all powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit such as 512MiB or 2GiB", s)
	}
	unit := strings.ToUpper(strings.TrimSpace(t[i:]))
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KiB, MiB, GiB or TiB)", s, unit)
	}
	if n > (1<<62)>>sh {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n << sh, nil
}
