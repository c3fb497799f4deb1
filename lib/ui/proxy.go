package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Tracker paths the proxy forwards. Everything a tracker serves is a GET
// under these, so nothing else on the tracker's host is reachable through
// the UI.
var proxiedPrefixes = []string{"/clusters", "/machines", "/topologies", "/health"}

// trackerTimeout bounds one proxied call; heap dumps take longer than the
// rest, and downloads are bounded only by the browser's request.
func trackerTimeout(p string) time.Duration {
	switch p {
	case "/topologies/jmap", "/topologies/histo", "/topologies/jstack":
		return 3 * time.Minute
	case "/topologies/container/filedownload", "/topologies/containerfiledownload":
		return 0
	}
	return 30 * time.Second
}

// proxy forwards GET /api/tracker/<path>?<query> to the tracker's <path>
// and streams the answer back with its status, so the app sees exactly
// what the tracker said (Heron 0.20.5 shapes, errors included).
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	p := path.Clean("/" + strings.TrimPrefix(r.URL.Path, "/api/tracker/"))
	if !allowedTrackerPath(p) {
		writeJSON(w, http.StatusNotFound, detail("heron-ui does not proxy "+p+"; only the tracker's /clusters, /machines and /topologies API"))
		return
	}
	ctx := r.Context()
	if d := trackerTimeout(p); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	resp, err := s.trackerGet(ctx, p, r.URL.Query())
	if err != nil {
		s.log.Warn().Err(err).Str("path", p).Msg("tracker unreachable")
		writeJSON(w, http.StatusBadGateway, detail(err.Error()))
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Disposition", "Last-Modified"} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	if strings.HasSuffix(p, "filedownload") && h.Get("Content-Disposition") == "" {
		name := path.Base(r.URL.Query().Get("path"))
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(resp.StatusCode)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
		if rerr != nil {
			return
		}
	}
}

func allowedTrackerPath(p string) bool {
	for _, pre := range proxiedPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// trackerGet sends one GET to the tracker. Errors are transport errors only;
// HTTP error statuses come back as responses.
func (s *Server) trackerGet(ctx context.Context, p string, q url.Values) (*http.Response, error) {
	u := *s.tracker
	u.Path = strings.TrimRight(u.Path, "/") + p
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		s.metrics.tracker("error", time.Since(start))
		return nil, fmt.Errorf("tracker %s unreachable: %v; check --tracker-url and that heron-tracker runs", s.tracker, unwrapURLError(err))
	}
	s.metrics.tracker(fmt.Sprint(resp.StatusCode), time.Since(start))
	return resp, nil
}

// TrackerError is a tracker answer with an error status, its message
// taken from any of the shapes trackers use.
type TrackerError struct {
	Status  int
	Message string
}

func (e *TrackerError) Error() string { return e.Message }

// trackerJSON GETs p and decodes a successful JSON answer into out.
func (s *Server) trackerJSON(ctx context.Context, p string, q url.Values, out any) error {
	resp, err := s.trackerGet(ctx, p, q)
	if err != nil {
		return &TrackerError{Status: http.StatusBadGateway, Message: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &TrackerError{Status: http.StatusBadGateway, Message: "read tracker answer: " + err.Error()}
	}
	if resp.StatusCode >= 300 {
		return &TrackerError{Status: resp.StatusCode, Message: ErrorMessage(body, resp.Status)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &TrackerError{Status: http.StatusBadGateway, Message: fmt.Sprintf("tracker answered %s with something that is not the expected JSON: %v", p, err)}
	}
	return nil
}

// ErrorMessage extracts the text of a tracker error body: a JSON string
// (Heron 0.20.5's 500s), {"detail": "..."} or FastAPI's validation list,
// {"message": "..."} (the older envelope), or plain text.
func ErrorMessage(body []byte, fallback string) string {
	var v any
	if json.Unmarshal(body, &v) == nil {
		switch t := v.(type) {
		case string:
			return t
		case map[string]any:
			for _, k := range []string{"detail", "message", "error"} {
				switch d := t[k].(type) {
				case string:
					if d != "" {
						return d
					}
				case []any:
					var parts []string
					for _, it := range d {
						if m, ok := it.(map[string]any); ok {
							loc, _ := json.Marshal(m["loc"])
							parts = append(parts, fmt.Sprintf("%v %s", m["msg"], loc))
						}
					}
					if len(parts) > 0 {
						return strings.Join(parts, "; ")
					}
				}
			}
		}
	}
	if t := strings.TrimSpace(string(body)); t != "" && len(t) < 500 {
		return t
	}
	return fallback
}

func detail(msg string) map[string]string { return map[string]string{"detail": msg} }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func usageErrorf(format string, args ...any) error {
	return exitcode.Errorf(exitcode.Usage, format, args...)
}
