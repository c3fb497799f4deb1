package apiserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
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
			rec := &statusWriter{ResponseWriter: w}
			nf := &notFoundWriter{statusWriter: rec}
			start := time.Now()
			mux.ServeHTTP(nf, r)
			s.metrics.observe("unknown", r.Method, rec.code(), time.Since(start))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// notFoundWriter swaps the mux's plain-text 404 for Heron's JSON one.
type notFoundWriter struct {
	*statusWriter
	swallow bool
}

func (n *notFoundWriter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		n.swallow = true
		n.Header().Del("X-Content-Type-Options")
		writeIndented(n.statusWriter, http.StatusNotFound, notFoundBody)
		return
	}
	n.statusWriter.WriteHeader(code)
}

func (n *notFoundWriter) Write(p []byte) (int, error) {
	if n.swallow {
		return len(p), nil
	}
	return n.statusWriter.Write(p)
}

// instrument logs each request (never its headers: they may hold a token)
// and feeds the request metrics.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inflight.Inc()
		defer s.metrics.inflight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.metrics.observe(route, r.Method, sw.code(), d)
		ev := s.log.Info()
		if sw.code() >= 500 {
			ev = s.log.Warn()
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Str("route", route).
			Int("status", sw.code()).Int64("bytes", sw.n).Dur("duration", d).
			Str("remote", r.RemoteAddr).Msg("request")
	})
}

// statusWriter remembers the status and counts the body bytes. It keeps
// io.ReaderFrom so that file downloads still use sendfile.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}
