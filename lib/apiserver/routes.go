package apiserver

import (
	"net/http"
	"time"

	"github.com/heronkit/heronkit/lib/daemon"
)

// routes builds the handler: Heron's endpoints under /api/v1, ours beside
// them, each wrapped with logging and metrics; mutating ones with the token
// check.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	topo := "/api/v1/topologies/{cluster}/{role}/{environ}/{name}"
	handle := func(pattern, route string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(route, h))
	}
	// Heron's endpoints.
	handle("GET /api/v1/version", "version", s.handleVersion)
	handle("POST /api/v1/topologies", "submit", s.requireToken(s.handleSubmit))
	handle("POST "+topo+"/activate", "activate", s.requireToken(s.handleActivate))
	handle("POST "+topo+"/deactivate", "deactivate", s.requireToken(s.handleDeactivate))
	handle("POST "+topo+"/restart", "restart", s.requireToken(s.handleRestart))
	handle("POST "+topo+"/update", "update", s.requireToken(s.handleUpdate))
	handle("DELETE "+topo, "kill", s.requireToken(s.handleKill))
	handle("POST /api/v1/file/upload", "upload", s.requireToken(s.handleUpload))
	handle("GET /api/v1/file/download/core", "download_core", s.handleDownloadCore)
	handle("GET /api/v1/file/download/{file}", "download", s.handleDownload)
	handle("DELETE /api/v1/file/download/{file}", "delete_file", s.requireToken(s.handleDeleteFile))
	// Ours: what Heron leaves to the tracker, and operations.
	handle("GET /api/v1/config", "config", s.handleConfig)
	handle("GET /api/v1/topologies", "list", s.handleList)
	handle("GET "+topo, "topology", s.handleTopology)
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return s.fallback(mux)
}

// fallback answers unknown paths with Heron's {"paths": [...]} 404 body;
// a known path with a wrong method keeps the mux's 405.
func (s *Server) fallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			rec := daemon.NewRecorder(w)
			nf := &notFoundWriter{Recorder: rec}
			start := time.Now()
			mux.ServeHTTP(nf, r)
			s.metrics.requests.Observe("unknown", r.Method, rec.Status(), time.Since(start))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// notFoundWriter swaps the mux's plain-text 404 for Heron's JSON one.
type notFoundWriter struct {
	*daemon.Recorder
	swallow bool
}

func (n *notFoundWriter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		n.swallow = true
		n.Header().Del("X-Content-Type-Options")
		writeIndented(n.Recorder, http.StatusNotFound, notFoundBody)
		return
	}
	n.Recorder.WriteHeader(code)
}

func (n *notFoundWriter) Write(p []byte) (int, error) {
	if n.swallow {
		return len(p), nil
	}
	return n.Recorder.Write(p)
}

// instrument logs each request (never its headers: they may hold a token)
// and feeds the request metrics.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer s.metrics.requests.Begin()()
		sw := daemon.NewRecorder(w)
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.metrics.requests.Observe(route, r.Method, sw.Status(), d)
		ev := s.log.Info()
		if sw.Status() >= 500 {
			ev = s.log.Warn()
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Str("route", route).
			Int("status", sw.Status()).Int64("bytes", sw.Bytes()).Dur("duration", d).
			Str("remote", r.RemoteAddr).Msg("request")
	})
}
