package trackerapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/tmstats"
	"github.com/heronkit/heronkit/lib/tracker"
	"github.com/heronkit/heronkit/lib/trackerapi/query"
)

// stats returns a client for the topology manager's stats port, or a 503
// when the topology has none (it is not running).
func (s *Server) stats(t *tracker.Topology, what string) (*tmstats.Client, error) {
	l := t.TManager
	if l == nil || l.GetHost() == "" || l.GetStatsPort() == 0 {
		return nil, errorf(http.StatusServiceUnavailable, "%s", what)
	}
	c := tmstats.NewClient(l.GetHost(), int(l.GetStatsPort()))
	c.HTTP = s.http
	return c, nil
}

// upstream turns a stats-port failure into a 502.
func upstream(err error) error {
	var he *tmstats.HTTPError
	if errors.As(err, &he) {
		return errorf(http.StatusBadGateway, "Error in getting metrics from Tmanager, code: %d", he.Code)
	}
	return errorf(http.StatusBadGateway, "%v", err)
}

func (s *Server) runtimeState(r *http.Request, p *params) ([]byte, error) {
	t, err := s.topology(p)
	if err != nil {
		return nil, err
	}
	out := &tracker.Object{}
	for _, k := range t.Views.RuntimeState.Keys() {
		v, _ := t.Views.RuntimeState.Get(k)
		out.Set(k, v)
	}
	stmgrs := &tracker.Object{}
	out.Set("stmgrs", stmgrs)
	// Without a topology manager there is nothing to ask: an empty map, as
	// Heron 0.20.4 answered (0.20.5 fails).
	c, err := s.stats(t, "TManager not set yet")
	if err != nil {
		return encode(out)
	}
	reg, err := c.Registrations(r.Context())
	if err != nil {
		return nil, upstream(err)
	}
	for _, id := range reg.GetRegisteredStmgrs() {
		stmgrs.Set(id, new(tracker.Object).Set("is_registered", true))
	}
	for _, id := range reg.GetAbsentStmgrs() {
		stmgrs.Set(id, new(tracker.Object).Set("is_registered", false))
	}
	return encode(out)
}

func (s *Server) metrics(r *http.Request, p *params) ([]byte, error) {
	t, err := s.topology(p)
	if err != nil {
		return nil, err
	}
	c, err := s.stats(t, "No Tmanager found")
	if err != nil {
		return nil, err
	}
	req := &tmanagerpb.MetricRequest{
		ComponentName: proto.String(p.s("component")),
		InstanceId:    p.l("instance"),
		Metric:        p.l("metricname"),
		Interval:      proto.Int64(p.i("interval")),
	}
	resp, err := c.Metrics(r.Context(), req)
	if err != nil {
		return nil, upstream(err)
	}
	s.logStatus(resp.GetStatus(), t, p.s("component"))
	metrics := &tracker.Object{}
	for _, tm := range resp.GetMetric() {
		for _, im := range tm.GetMetric() {
			if im.Value == nil {
				continue
			}
			child(metrics, im.GetName()).Set(tm.GetInstanceId(), im.GetValue())
		}
	}
	return encode(new(tracker.Object).Set("metrics", metrics).Set("interval", resp.GetInterval()).Set("component", p.s("component")))
}

func (s *Server) logStatus(st *systempb.Status, t *tracker.Topology, comp string) {
	if st.GetStatus() != systempb.StatusCode_OK {
		s.log.Debug().Str("topology", t.Name).Str("component", comp).Str("status", st.GetStatus().String()).
			Str("message", st.GetMessage()).Msg("topology manager answered NOTOK")
	}
}

// minutely asks for the per-bucket values of metrics over [start, end]:
// metric → instance → points, newest first as the topology manager sends them.
func (s *Server) minutely(ctx context.Context, t *tracker.Topology, comp string, metrics, instances []string, start, end int64) (map[string]map[string][]query.Point, map[string]map[string][]string, error) {
	c, err := s.stats(t, "No Tmanager found")
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Metrics(ctx, &tmanagerpb.MetricRequest{
		ComponentName:    proto.String(comp),
		InstanceId:       instances,
		Metric:           metrics,
		ExplicitInterval: &tmanagerpb.MetricInterval{Start: proto.Int64(start), End: proto.Int64(end)},
		Minutely:         proto.Bool(true),
	})
	if err != nil {
		return nil, nil, upstream(err)
	}
	s.logStatus(resp.GetStatus(), t, comp)
	pts := map[string]map[string][]query.Point{}
	raw := map[string]map[string][]string{}
	for _, tm := range resp.GetMetric() {
		for _, im := range tm.GetMetric() {
			if pts[im.GetName()] == nil {
				pts[im.GetName()] = map[string][]query.Point{}
				raw[im.GetName()] = map[string][]string{}
			}
			for _, iv := range im.GetIntervalValues() {
				v, ok := tmstats.ParseValue(iv.GetValue())
				if !ok {
					v = math.NaN()
				}
				id := tm.GetInstanceId()
				pts[im.GetName()][id] = append(pts[im.GetName()][id], query.Point{Time: iv.GetInterval().GetStart(), Value: v})
				raw[im.GetName()][id] = append(raw[im.GetName()][id], iv.GetValue())
			}
		}
	}
	return pts, raw, nil
}

func badRange(p *params) error {
	if p.i("starttime") > p.i("endtime") {
		return &apiError{code: http.StatusBadRequest, msg: "start_time > end_time", detail: "start_time > end_time"}
	}
	return nil
}

// timeline is /metrics/timeline (float values) and the legacy
// /metricstimeline (the topology manager's strings).
func (s *Server) timeline(legacy bool) handlerFunc {
	return func(r *http.Request, p *params) ([]byte, error) {
		if err := badRange(p); err != nil {
			return nil, err
		}
		t, err := s.topology(p)
		if err != nil {
			return nil, err
		}
		pts, raw, err := s.minutely(r.Context(), t, p.s("component"), p.l("metricname"), p.l("instance"), p.i("starttime"), p.i("endtime"))
		if err != nil {
			return nil, err
		}
		tl := &tracker.Object{}
		for _, name := range sortedKeys(pts) {
			insts := child(tl, name)
			for _, id := range sortedKeys(pts[name]) {
				byTime := &tracker.Object{}
				seen := map[int64]bool{}
				// Newest first; a start seen twice keeps the newest bucket.
				for i, pt := range pts[name][id] {
					if seen[pt.Time] {
						continue
					}
					seen[pt.Time] = true
					key := strconv.FormatInt(pt.Time, 10)
					switch {
					case legacy:
						byTime.Set(key, raw[name][id][i])
					case !math.IsNaN(pt.Value) && !math.IsInf(pt.Value, 0):
						byTime.Set(key, tracker.Float(pt.Value))
					}
				}
				insts.Set(id, byTime)
			}
		}
		return encode(new(tracker.Object).Set("component", p.s("component")).Set("starttime", p.i("starttime")).
			Set("endtime", p.i("endtime")).Set("timeline", tl))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func (s *Server) query(r *http.Request, p *params) ([]byte, error) {
	if err := badRange(p); err != nil {
		return nil, err
	}
	n, err := query.Parse(p.s("query"))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	t, err := s.topology(p)
	if err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, comp, metric string, insts []string, start, end int64) (map[string][]query.Point, error) {
		pts, _, err := s.minutely(ctx, t, comp, []string{metric}, insts, start, end)
		if err != nil {
			return nil, err
		}
		return pts[metric], nil
	}
	res, err := query.Eval(r.Context(), n, fetch, p.i("starttime"), p.i("endtime"))
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	timeline := make([]any, 0, len(res))
	for _, ser := range res {
		ts := make([]int64, 0, len(ser.Data))
		for k := range ser.Data {
			ts = append(ts, k)
		}
		slices.Sort(ts)
		data := &tracker.Object{}
		for _, k := range ts {
			data.Set(strconv.FormatInt(k, 10), tracker.Float(ser.Data[k]))
		}
		var inst any
		if ser.Instance != nil {
			inst = *ser.Instance
		}
		timeline = append(timeline, new(tracker.Object).Set("instance", inst).Set("data", data))
	}
	return encode(new(tracker.Object).Set("starttime", p.i("starttime")).Set("endtime", p.i("endtime")).Set("timeline", timeline))
}

// exceptionLogs asks the topology manager; a component of the topology
// that has reported nothing yet has no exceptions (Heron fails with
// "Unknown component").
func (s *Server) exceptionLogs(r *http.Request, p *params, summary bool) (*tracker.Topology, []*tmanagerpb.TmanagerExceptionLog, error) {
	t, err := s.topology(p)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.stats(t, "TManager not set yet")
	if err != nil {
		return nil, nil, err
	}
	req := &tmanagerpb.ExceptionLogRequest{ComponentName: proto.String(p.s("component")), Instances: p.l("instance")}
	var resp *tmanagerpb.ExceptionLogResponse
	if summary {
		resp, err = c.ExceptionSummary(r.Context(), req)
	} else {
		resp, err = c.Exceptions(r.Context(), req)
	}
	if err != nil {
		return nil, nil, upstream(err)
	}
	if resp.GetStatus().GetStatus() != systempb.StatusCode_OK {
		if slices.Contains(t.Components, p.s("component")) {
			return t, nil, nil
		}
		msg := resp.GetStatus().GetMessage()
		if msg == "" {
			msg = "an error occurred"
		}
		return nil, nil, errorf(http.StatusNotFound, "%s", msg)
	}
	return t, resp.GetExceptions(), nil
}

func (s *Server) exceptions(r *http.Request, p *params) ([]byte, error) {
	_, logs, err := s.exceptionLogs(r, p, false)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(logs))
	for _, e := range logs {
		var logging any
		if e.Logging != nil {
			logging = e.GetLogging()
		}
		out = append(out, new(tracker.Object).Set("hostname", e.GetHostname()).Set("instance_id", e.GetInstanceId()).
			Set("stacktrace", e.GetStacktrace()).Set("lasttime", e.GetLasttime()).Set("firsttime", e.GetFirsttime()).
			Set("count", strconv.Itoa(int(e.GetCount()))).Set("logging", logging))
	}
	return encode(out)
}

func (s *Server) exceptionSummary(r *http.Request, p *params) ([]byte, error) {
	_, logs, err := s.exceptionLogs(r, p, true)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(logs))
	for _, e := range logs {
		out = append(out, new(tracker.Object).Set("class_name", e.GetStacktrace()).Set("lasttime", e.GetLasttime()).
			Set("firsttime", e.GetFirsttime()).Set("count", strconv.Itoa(int(e.GetCount()))))
	}
	return encode(out)
}
