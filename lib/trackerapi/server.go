// Package trackerapi is heron-tracker's REST API: every endpoint of Heron
// 0.20.5's tracker (and the flat 0.20.4 paths), with the same parameters and
// JSON shapes, served from the tracker's in-memory snapshot; metrics and
// exceptions come from the topology manager's stats port, container files
// and process tools from the container's heron-shell.
//
// Where Heron 0.20.5 is broken in a way no Heron client depends on, the
// behaviour is fixed; docs/tracker.md lists each decision.
package trackerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/daemon"
	"github.com/heronkit/heronkit/lib/tracker"
)

// Source is what the API reads: the tracker's current snapshot and the
// state managers' health.
type Source interface {
	Snapshot() *tracker.Snapshot
	Status() map[string]error
}

// Server serves the API.
type Server struct {
	src  Source
	http *http.Client
	log  zerolog.Logger
	mux  *http.ServeMux

	requests *daemon.RequestMetrics
}

// Options tunes a Server.
type Options struct {
	// HTTP reaches topology managers and shells; nil means a client with a 5 s timeout.
	HTTP *http.Client
	Log  zerolog.Logger
	// Registry receives the request and topology metrics; nil registers none.
	Registry prometheus.Registerer
}

// New returns the API over src.
func New(src Source, o Options) *Server {
	s := &Server{src: src, http: o.HTTP, log: o.Log, mux: http.NewServeMux()}
	if s.http == nil {
		// Many concurrent requests go to the same topology managers: keep
		// enough idle connections to them (the default keeps 2 per host).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 64
		s.http = &http.Client{Timeout: 5 * time.Second, Transport: tr}
	}
	if o.Registry != nil {
		s.requests = daemon.NewRequestMetrics(o.Registry, daemon.RequestMetricsOpts{
			Namespace:    "heron_tracker",
			RequestsHelp: "Requests served, by endpoint and HTTP status.",
			DurationHelp: "Time to answer a request, by endpoint.",
			RouteLabel:   "endpoint",
			Buckets:      []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		})
		topologies := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "heron_tracker_topologies", Help: "Topologies the tracker follows.",
		}, func() float64 { return float64(len(src.Snapshot().Topologies)) })
		broken := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "heron_tracker_topologies_with_errors", Help: "Topologies whose state does not parse.",
		}, func() float64 {
			n := 0
			for _, t := range src.Snapshot().Topologies {
				if t.Err != nil {
					n++
				}
			}
			return float64(n)
		})
		down := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "heron_tracker_statemgrs_unavailable", Help: "State managers the tracker cannot watch right now.",
		}, func() float64 {
			n := 0
			for _, err := range src.Status() {
				if err != nil {
					n++
				}
			}
			return float64(n)
		})
		o.Registry.MustRegister(topologies, broken, down)
	}
	s.routes()
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiError is an error with the HTTP status it answers with.
type apiError struct {
	code int
	msg  string
	// detail, when set, is written as {"detail": detail} (FastAPI's form).
	detail any
}

func (e *apiError) Error() string { return e.msg }

func errorf(code int, format string, a ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, a...)}
}

// handlerFunc returns a JSON body (already encoded) or an error.
type handlerFunc func(r *http.Request, p *params) ([]byte, error)

// handle registers an endpoint under one or more paths.
func (s *Server) handle(name string, h http.HandlerFunc, paths ...string) {
	wrapped := s.requests.Handler(name, h)
	for _, p := range paths {
		s.mux.Handle(p, wrapped)
	}
}

// json wraps a handlerFunc: parameters, errors and headers.
func (s *Server) json(spec []param, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeDetail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		p, perr := parseParams(r, spec)
		var body []byte
		var err error
		if perr != nil {
			err = perr
		} else {
			body, err = h(r, p)
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("x-process-time", strconv.FormatFloat(time.Since(start).Seconds(), 'f', -1, 64))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

func writeDetail(w http.ResponseWriter, code int, detail any) {
	b, _ := tracker.Marshal(map[string]any{"detail": detail})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError answers as Heron 0.20.5 does: a JSON string "request failed:
// <message>" (or FastAPI's {"detail": ...} for parameter errors), with a
// status that says whose fault it was.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: http.StatusInternalServerError, msg: err.Error()}
	}
	if ae.code >= 500 {
		s.log.Warn().Str("path", r.URL.Path).Str("query", r.URL.RawQuery).Int("status", ae.code).Msg(ae.msg)
	}
	if ae.detail != nil {
		writeDetail(w, ae.code, ae.detail)
		return
	}
	b, _ := tracker.Marshal("request failed: " + ae.msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.code)
	_, _ = w.Write(b)
}

// param describes one query parameter.
type param struct {
	name     string
	required bool
	kind     byte // 's' string, 'i' int, 'l' list of strings
	def      string
}

var (
	pCluster  = param{name: "cluster", required: true, kind: 's'}
	pEnviron  = param{name: "environ", required: true, kind: 's'}
	pTopology = param{name: "topology", required: true, kind: 's'}
	pRole     = param{name: "role", kind: 's'}
	topoSpec  = []param{pCluster, pEnviron, pTopology, pRole}
)

func with(extra ...param) []param {
	return append(append([]param{}, topoSpec...), extra...)
}

type params struct {
	str  map[string]string
	ints map[string]int64
	list map[string][]string
	has  map[string]bool
}

func (p *params) s(n string) string   { return p.str[n] }
func (p *params) i(n string) int64    { return p.ints[n] }
func (p *params) l(n string) []string { return p.list[n] }
func (p *params) given(n string) bool { return p.has[n] }

// parseParams reads the query string; missing and malformed parameters are
// reported together as FastAPI does (422).
func parseParams(r *http.Request, spec []param) (*params, error) {
	q := r.URL.Query()
	p := &params{str: map[string]string{}, ints: map[string]int64{}, list: map[string][]string{}, has: map[string]bool{}}
	var detail []any
	for _, sp := range spec {
		vals, ok := q[sp.name]
		p.has[sp.name] = ok
		if !ok && sp.def != "" {
			vals, ok = []string{sp.def}, true
		}
		if !ok {
			if sp.required {
				detail = append(detail, map[string]any{"loc": []string{"query", sp.name}, "msg": "field required", "type": "value_error.missing"})
			}
			continue
		}
		switch sp.kind {
		case 'l':
			p.list[sp.name] = vals
		case 'i':
			v, err := strconv.ParseInt(strings.TrimSpace(vals[len(vals)-1]), 10, 64)
			if err != nil {
				detail = append(detail, map[string]any{"loc": []string{"query", sp.name}, "msg": "value is not a valid integer", "type": "type_error.integer"})
				continue
			}
			p.ints[sp.name] = v
		default:
			p.str[sp.name] = vals[len(vals)-1]
		}
	}
	if detail != nil {
		return nil, &apiError{code: http.StatusUnprocessableEntity, msg: "invalid parameters", detail: detail}
	}
	return p, nil
}

// topology finds the topology the parameters name.
func (s *Server) topology(p *params) (*tracker.Topology, error) {
	t, err := s.src.Snapshot().Lookup(p.s("cluster"), p.s("environ"), p.s("topology"), p.s("role"))
	if err != nil {
		if errors.Is(err, tracker.ErrTopologyNotFound) {
			msg := strings.TrimPrefix(err.Error(), tracker.ErrTopologyNotFound.Error()+": ")
			return nil, errorf(http.StatusNotFound, "'%s'", msg)
		}
		return nil, errorf(http.StatusInternalServerError, "%v", err)
	}
	return t, nil
}

func encode(v any) ([]byte, error) { return tracker.Marshal(v) }

// mustJSON is for values built here that always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
