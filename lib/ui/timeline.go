package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// CannedQueries are the metrics the topology page colours and charts by,
// written in the tracker's query language. {0} is the component (the
// instance id for backpressure) and {1} the instance or "*". The first six
// are Heron UI's; emits and executes are ours, useful for topologies with
// no JVM metrics (native ones).
var CannedQueries = map[string]string{
	"capacity":     "DIVIDE(DEFAULT(0,MULTIPLY(TS({0},{1},__execute-count/default),TS({0},{1},__execute-latency/default))),60000000000)",
	"failures":     "DEFAULT(0,DIVIDE(TS({0},{1},__fail-count/default),SUM(DEFAULT(1,TS({0},{1},__execute-count/default)),DEFAULT(0,TS({0},{1},__fail-count/default)))))",
	"cpu":          "DEFAULT(0,TS({0},{1},__jvm-process-cpu-load))",
	"memory":       "DIVIDE(DEFAULT(0,TS({0},{1},__jvm-memory-used-mb)),DEFAULT(1,TS({0},{1},__jvm-memory-mb-total)))",
	"gc":           "RATE(TS({0},{1},__jvm-gc-collection-time-ms))",
	"backpressure": "DEFAULT(0,TS(__stmgr__,*,__time_spent_back_pressure_by_compid/{0}))",
	"emits":        "DEFAULT(0,TS({0},{1},__emit-count/default))",
	"executes":     "DEFAULT(0,TS({0},{1},__execute-count/default))",
}

// CannedQuery fills a canned query's placeholders.
func CannedQuery(metric, component, instance string) (string, bool) {
	q, ok := CannedQueries[metric]
	if !ok {
		return "", false
	}
	return strings.NewReplacer("{0}", component, "{1}", instance).Replace(q), true
}

// Series is one timeline: an instance (empty for aggregates) and its
// values by minute (epoch seconds as a string key, as the tracker sends).
type Series struct {
	Instance *string            `json:"instance"`
	Data     map[string]float64 `json:"data"`
}

type queryResult struct {
	Timeline []Series `json:"timeline"`
}

// timelineRequest is the parsed query string of /topologies/metrics/timeline.
type timelineRequest struct {
	topo       url.Values // cluster, environ, topology, role
	metric     string
	component  string
	instance   string
	start, end int64
	max        bool
}

func parseTimelineRequest(q url.Values) (*timelineRequest, error) {
	r := &timelineRequest{topo: url.Values{}}
	for _, k := range []string{"cluster", "environ", "topology"} {
		v := q.Get(k)
		if v == "" {
			return nil, fmt.Errorf("missing parameter %s", k)
		}
		r.topo.Set(k, v)
	}
	if v := q.Get("role"); v != "" {
		r.topo.Set("role", v)
	}
	r.metric = q.Get("metric")
	if _, ok := CannedQueries[r.metric]; !ok {
		names := make([]string, 0, len(CannedQueries))
		for k := range CannedQueries {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown metric %q; use one of %s", r.metric, strings.Join(names, ", "))
	}
	r.component, r.instance = q.Get("component"), q.Get("instance")
	if r.instance == "" {
		r.instance = "*"
	}
	var err error
	if r.start, err = strconv.ParseInt(q.Get("starttime"), 10, 64); err != nil {
		return nil, fmt.Errorf("starttime %q is not epoch seconds", q.Get("starttime"))
	}
	if r.end, err = strconv.ParseInt(q.Get("endtime"), 10, 64); err != nil {
		return nil, fmt.Errorf("endtime %q is not epoch seconds", q.Get("endtime"))
	}
	if r.start > r.end {
		return nil, fmt.Errorf("starttime %d is after endtime %d", r.start, r.end)
	}
	r.max = q.Get("max") == "true"
	return r, nil
}

// timeline answers Heron UI's /topologies/metrics/timeline: one canned
// query per component (or per instance for backpressure) run through the
// tracker's /topologies/metrics/query, concatenated or reduced to the
// pointwise max. The shape is Heron UI's: {status, starttime, endtime,
// result: {timeline: [{instance, data}]}}.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	req, err := parseTimelineRequest(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "failure", "message": err.Error()})
		return
	}
	series, err := s.runTimeline(r.Context(), req)
	if err != nil {
		status := http.StatusBadGateway
		if te, ok := err.(*TrackerError); ok && te.Status >= 400 && te.Status < 500 {
			status = te.Status
		}
		writeJSON(w, status, map[string]any{"status": "failure", "message": err.Error()})
		return
	}
	if req.max {
		series = []Series{MaxSeries(series)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":    "success",
		"starttime": req.start,
		"endtime":   req.end,
		"result":    map[string]any{"timeline": series},
	})
}

type timelineQuery struct {
	query    string
	instance string // set for backpressure: the series is that instance's
}

func (s *Server) runTimeline(ctx context.Context, req *timelineRequest) ([]Series, error) {
	var components []string
	if req.component == "" || req.component == "*" {
		var lp struct {
			Spouts map[string]any `json:"spouts"`
			Bolts  map[string]any `json:"bolts"`
		}
		if err := s.trackerJSON(ctx, "/topologies/logicalplan", req.topo, &lp); err != nil {
			return nil, err
		}
		for c := range lp.Spouts {
			components = append(components, c)
		}
		for c := range lp.Bolts {
			components = append(components, c)
		}
		sort.Strings(components)
	} else {
		components = []string{req.component}
	}
	var queries []timelineQuery
	if req.metric == "backpressure" {
		var pp struct {
			Instances map[string]struct {
				Name string `json:"name"`
			} `json:"instances"`
		}
		if err := s.trackerJSON(ctx, "/topologies/physicalplan", req.topo, &pp); err != nil {
			return nil, err
		}
		want := map[string]bool{}
		for _, c := range components {
			want[c] = true
		}
		ids := make([]string, 0, len(pp.Instances))
		for id, in := range pp.Instances {
			if want[in.Name] && (req.instance == "*" || req.instance == id) {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			q, _ := CannedQuery(req.metric, id, "*")
			queries = append(queries, timelineQuery{query: q, instance: id})
		}
	} else {
		for _, c := range components {
			q, _ := CannedQuery(req.metric, c, req.instance)
			queries = append(queries, timelineQuery{query: q})
		}
	}

	results := make([][]Series, len(queries))
	errs := make([]error, len(queries))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, tq := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			q := url.Values{}
			for k, v := range req.topo {
				q[k] = v
			}
			q.Set("starttime", strconv.FormatInt(req.start, 10))
			q.Set("endtime", strconv.FormatInt(req.end, 10))
			q.Set("query", tq.query)
			var res queryResult
			if err := s.trackerJSON(ctx, "/topologies/metrics/query", q, &res); err != nil {
				errs[i] = err
				return
			}
			if tq.instance != "" {
				// One series per stmgr answer; the instance it is about is ours.
				for j := range res.Timeline {
					id := tq.instance
					res.Timeline[j].Instance = &id
				}
				if len(res.Timeline) > 1 {
					res.Timeline = []Series{MaxSeries(res.Timeline)}
					id := tq.instance
					res.Timeline[0].Instance = &id
				}
			}
			results[i] = res.Timeline
		}()
	}
	wg.Wait()
	var out []Series
	var firstErr error
	ok := 0
	for i := range queries {
		if errs[i] != nil {
			if firstErr == nil {
				firstErr = errs[i]
			}
			continue
		}
		ok++
		out = append(out, results[i]...)
	}
	if ok == 0 && firstErr != nil {
		return nil, firstErr
	}
	if out == nil {
		out = []Series{}
	}
	return out, nil
}

// MaxSeries is the pointwise maximum of several series, with no instance.
func MaxSeries(in []Series) Series {
	data := map[string]float64{}
	for _, s := range in {
		for t, v := range s.Data {
			if old, ok := data[t]; !ok || v > old {
				data[t] = v
			}
		}
	}
	return Series{Data: data}
}
