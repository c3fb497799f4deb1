package tmstats

import (
	"fmt"
	"io"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
)

// MaxRequestBytes bounds a request body
// (heron.tmanager.network.stats.options.maximum.packet.mb).
const MaxRequestBytes = 1 << 20

// Registrations reports which stream managers have registered with the
// topology manager and which are still absent.
type Registrations func() (registered, absent []string)

// Handler serves Heron's stats protocol from a store. reg answers
// /stmgrsregistrationsummary; nil answers with two empty lists.
func Handler(s *Store, reg Registrations) http.Handler {
	return &handler{s: s, reg: reg}
}

type handler struct {
	s   *Store
	reg Registrations
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/stats", "/exceptions", "/exceptionsummary", "/stmgrsregistrationsummary":
	default:
		http.Error(w, "unknown path "+r.URL.Path, http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST with a serialized protobuf body", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	var resp proto.Message
	switch r.URL.Path {
	case "/stats":
		req := &tmanagerpb.MetricRequest{}
		if err = proto.Unmarshal(body, req); err == nil {
			resp = h.s.Metrics(req)
		}
	case "/exceptions", "/exceptionsummary":
		req := &tmanagerpb.ExceptionLogRequest{}
		if err = proto.Unmarshal(body, req); err == nil {
			if r.URL.Path == "/exceptions" {
				resp = h.s.Exceptions(req)
			} else {
				resp = h.s.ExceptionSummary(req)
			}
		}
	case "/stmgrsregistrationsummary":
		req := &tmanagerpb.StmgrsRegistrationSummaryRequest{}
		if err = proto.Unmarshal(body, req); err == nil {
			out := &tmanagerpb.StmgrsRegistrationSummaryResponse{}
			if h.reg != nil {
				out.RegisteredStmgrs, out.AbsentStmgrs = h.reg()
			}
			resp = out
		}
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("body is not a valid request for %s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}
