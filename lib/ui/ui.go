// Package ui is heron-ui's web server: a single-page app embedded in the
// binary, a same-origin proxy to one tracker's REST API (Heron 0.20.5 paths
// and shapes), and the few endpoints that need fan-out on the server (the
// metrics timelines Heron's UI also computes server-side).
//
// The browser only ever talks to this server, so the tracker needs no CORS
// and can stay on a private address.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/daemon"
)

//go:embed assets
var assetsFS embed.FS

// Config is what the server needs to know.
type Config struct {
	// TrackerURL is the tracker's base URL, e.g. http://127.0.0.1:8888.
	TrackerURL string
	// BaseURL is the path prefix a reverse proxy serves the UI under, e.g.
	// "/heron"; empty when served at the root.
	BaseURL string
	Log     zerolog.Logger
	// Registry receives the server's metrics; nil means none are kept.
	Registry prometheus.Registerer
	// Client talks to the tracker; nil means a default client.
	Client *http.Client
}

// Server is the UI's HTTP handler.
type Server struct {
	tracker *url.URL
	base    string
	log     zerolog.Logger
	client  *http.Client
	metrics *serverMetrics
	handler http.Handler // the routes, measured
	index   *template.Template
	static  fs.FS
	version string
}

// New checks the config and builds the server.
func New(cfg Config) (*Server, error) {
	tu, err := ParseTrackerURL(cfg.TrackerURL)
	if err != nil {
		return nil, err
	}
	base, err := CleanBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the tracker is reached directly, never through $HTTP_PROXY
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	static, err := fs.Sub(assetsFS, "assets")
	if err != nil {
		return nil, err
	}
	s := &Server{
		tracker: tu,
		base:    base,
		log:     cfg.Log,
		client:  client,
		metrics: newServerMetrics(cfg.Registry),
		static:  static,
		version: assetsVersion(static),
	}
	s.index = template.Must(template.ParseFS(static, "index.html"))
	s.routes()
	return s, nil
}

// ParseTrackerURL checks that u is an absolute http(s) URL.
func ParseTrackerURL(u string) (*url.URL, error) {
	p, err := url.Parse(strings.TrimRight(u, "/"))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return nil, usageErrorf("--tracker-url %q is not an http(s) URL like http://127.0.0.1:8888", u)
	}
	return p, nil
}

// CleanBaseURL turns "heron/", "/heron" or "" into "/heron" or "".
func CleanBaseURL(b string) (string, error) {
	if b == "" || b == "/" {
		return "", nil
	}
	if strings.ContainsAny(b, "?#\"'<> ") {
		return "", usageErrorf("--base-url %q must be a plain path prefix like /heron", b)
	}
	return path.Clean("/" + strings.Trim(b, "/")), nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /healthz", daemon.Healthz(nil))
	m.Handle("GET /health", daemon.Healthz(nil)) // Heron UI's path
	m.Handle("GET /static/", s.staticHandler())
	m.HandleFunc("GET /api/tracker/", s.proxy)
	m.HandleFunc("GET /api/config", s.uiConfig)
	m.HandleFunc("GET /topologies/metrics/timeline", s.timeline)
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.base+"/topologies", http.StatusFound)
	})
	m.HandleFunc("GET /topologies", s.page)
	m.HandleFunc("GET /topologies/", s.page)
	m.HandleFunc("/", s.notFound)
	s.handler = s.metrics.requests.RouteFunc(func(r *http.Request) string { return routeKind(r.URL.Path) }, m)
}

// ServeHTTP strips the base URL when the proxy in front kept it, so the UI
// works whether or not the proxy rewrites paths; the request metrics see
// the stripped path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.base != "" {
		if r.URL.Path == s.base {
			r.URL.Path = "/"
		} else if strings.HasPrefix(r.URL.Path, s.base+"/") {
			r.URL.Path = strings.TrimPrefix(r.URL.Path, s.base)
		}
		r.URL.RawPath = ""
	}
	s.handler.ServeHTTP(w, r)
}

// routeKind is the low-cardinality label of a request path.
func routeKind(p string) string {
	switch {
	case strings.HasPrefix(p, "/api/tracker/"):
		return "tracker_proxy"
	case strings.HasPrefix(p, "/static/"):
		return "static"
	case p == "/topologies/metrics/timeline":
		return "timeline"
	case p == "/healthz" || p == "/health":
		return "health"
	case strings.HasPrefix(p, "/topologies"):
		return "page"
	default:
		return "other"
	}
}

// uiConfig tells the app where it is mounted and which tracker it shows.
func (s *Server) uiConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.clientConfig())
}

type clientConfig struct {
	Base    string `json:"base"`
	Tracker string `json:"tracker"`
	Version string `json:"version"`
}

func (s *Server) clientConfig() clientConfig {
	return clientConfig{Base: s.base, Tracker: s.tracker.String(), Version: s.version}
}

// page serves the app's HTML for every page URL; the app routes on the
// path. The URLs are Heron UI's, so bookmarks keep working.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.renderIndex(w, http.StatusOK)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: heron-ui only serves GET", http.StatusMethodNotAllowed)
		return
	}
	s.renderIndex(w, http.StatusNotFound)
}

func (s *Server) renderIndex(w http.ResponseWriter, status int) {
	cfg, _ := json.Marshal(s.clientConfig())
	var buf bytes.Buffer
	err := s.index.Execute(&buf, map[string]any{
		"Base":    s.base,
		"Version": s.version,
		"Config":  template.JS(cfg),
	})
	if err != nil {
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) staticHandler() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(s.static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/static/index.html" || strings.HasSuffix(r.URL.Path, "/") {
			s.notFound(w, r)
			return
		}
		// Asset URLs carry ?v=<content hash>, so they may be cached for long.
		if r.URL.Query().Get("v") == s.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// assetsVersion hashes every embedded file, for cache busting.
func assetsVersion(static fs.FS) string {
	h := sha256.New()
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
