package trackerapi

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/heronkit/heronkit/lib/daemon"
	"github.com/heronkit/heronkit/lib/tracker"
)

func (s *Server) routes() {
	view := func(pick func(v *tracker.Views) []byte) handlerFunc {
		return func(_ *http.Request, p *params) ([]byte, error) {
			t, err := s.topology(p)
			if err != nil {
				return nil, err
			}
			return pick(t.Views), nil
		}
	}
	s.handle("clusters", s.json(nil, s.clusters), "/clusters")
	s.handle("machines", s.json([]param{{name: "cluster", kind: 'l'}, {name: "environ", kind: 'l'}, {name: "topology", kind: 'l'}}, s.machines), "/machines")
	listSpec := []param{{name: "cluster", kind: 'l'}, {name: "environ", kind: 'l'}, pRole}
	s.handle("topologies", s.json(listSpec, s.topologies), "/topologies")
	s.handle("states", s.json(listSpec, s.states), "/topologies/states")
	for name, pick := range map[string]func(v *tracker.Views) []byte{
		"info":              func(v *tracker.Views) []byte { return v.Info },
		"logicalplan":       func(v *tracker.Views) []byte { return v.LogicalPlan },
		"physicalplan":      func(v *tracker.Views) []byte { return v.PhysicalPlan },
		"packingplan":       func(v *tracker.Views) []byte { return v.PackingPlan },
		"executionstate":    func(v *tracker.Views) []byte { return v.ExecutionState },
		"metadata":          func(v *tracker.Views) []byte { return v.Metadata },
		"schedulerlocation": func(v *tracker.Views) []byte { return v.SchedulerLocation },
		"config":            func(v *tracker.Views) []byte { return v.Config },
	} {
		s.handle(name, s.json(topoSpec, view(pick)), "/topologies/"+name)
	}
	s.handle("runtimestate", s.json(topoSpec, s.runtimeState), "/topologies/runtimestate")

	metricSpec := with(param{name: "component", required: true, kind: 's'}, param{name: "metricname", kind: 'l'},
		param{name: "instance", kind: 'l'})
	s.handle("metrics", s.json(append(metricSpec, param{name: "interval", kind: 'i', def: "-1"}), s.metrics), "/topologies/metrics")
	timeSpec := append(slices.Clone(metricSpec), param{name: "starttime", required: true, kind: 'i'}, param{name: "endtime", required: true, kind: 'i'})
	s.handle("metrics_timeline", s.json(timeSpec, s.timeline(false)), "/topologies/metrics/timeline")
	s.handle("metricstimeline", s.json(timeSpec, s.timeline(true)), "/topologies/metricstimeline")
	querySpec := with(param{name: "starttime", required: true, kind: 'i'}, param{name: "endtime", required: true, kind: 'i'},
		param{name: "query", required: true, kind: 's'})
	s.handle("metrics_query", s.json(querySpec, s.query), "/topologies/metrics/query", "/topologies/metricsquery")
	excSpec := with(param{name: "component", required: true, kind: 's'}, param{name: "instance", kind: 'l'})
	s.handle("exceptions", s.json(excSpec, s.exceptions), "/topologies/exceptions")
	s.handle("exceptionsummary", s.json(excSpec, s.exceptionSummary), "/topologies/exceptionsummary")

	pContainer := param{name: "container", required: true, kind: 's'}
	pPath := param{name: "path", required: true, kind: 's'}
	s.handle("container_filedata", s.json(with(pContainer, pPath, param{name: "offset", required: true, kind: 'i'},
		param{name: "length", required: true, kind: 'i'}), s.fileData), "/topologies/container/filedata", "/topologies/containerfiledata")
	s.handle("container_filestats", s.json(with(pContainer, param{name: "path", kind: 's', def: "."}), s.fileStats),
		"/topologies/container/filestats", "/topologies/containerfilestats")
	s.handle("container_filedownload", s.download(with(pContainer, pPath)),
		"/topologies/container/filedownload", "/topologies/containerfiledownload")
	pInstance := param{name: "instance", required: true, kind: 's'}
	s.handle("pid", s.json(with(pInstance), s.pid), "/topologies/pid")
	for _, tool := range []string{"jstack", "jmap", "histo"} {
		s.handle(tool, s.json(with(pInstance), s.pidTool(tool)), "/topologies/"+tool)
	}

	s.handle("health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	}, "/health")
	s.handle("healthz", daemon.Healthz(s.healthy).ServeHTTP, "/healthz")
	s.handle("root", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/topologies", http.StatusFound)
			return
		}
		writeDetail(w, http.StatusNotFound, "Not Found")
	}, "/")
}

// healthy is for supervisors: /healthz answers 200 when every state
// manager is being watched, 503 naming the ones that are not.
func (s *Server) healthy() error {
	st := s.src.Status()
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad []string
	for _, n := range names {
		if err := st[n]; err != nil {
			bad = append(bad, n+": "+err.Error())
		}
	}
	if len(bad) > 0 {
		return errors.New("state managers unavailable:\n" + strings.Join(bad, "\n"))
	}
	return nil
}

func (s *Server) clusters(_ *http.Request, _ *params) ([]byte, error) {
	snap := s.src.Snapshot()
	return snap.Memo("clusters", func() any {
		c := snap.Clusters
		if c == nil {
			c = []string{}
		}
		return mustJSON(c)
	}).([]byte), nil
}

func in(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }

// listed are the topologies that have an execution state, sorted by
// cluster, environ, name.
func listed(snap *tracker.Snapshot) []*tracker.Topology {
	return snap.Memo("listed", func() any {
		var out []*tracker.Topology
		for _, t := range snap.Topologies {
			if t.Views != nil {
				out = append(out, t)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			a, b := out[i], out[j]
			if a.Cluster != b.Cluster {
				return a.Cluster < b.Cluster
			}
			if a.Environ != b.Environ {
				return a.Environ < b.Environ
			}
			return a.Name < b.Name
		})
		return out
	}).([]*tracker.Topology)
}

func child(o *tracker.Object, k string) *tracker.Object {
	if v, ok := o.Get(k); ok {
		return v.(*tracker.Object)
	}
	c := &tracker.Object{}
	o.Set(k, c)
	return c
}

// topologies is cluster → role → environ → names; the role filter matches
// exactly (Heron 0.20.5 keeps every topology with a non-empty role).
func (s *Server) topologies(_ *http.Request, p *params) ([]byte, error) {
	snap := s.src.Snapshot()
	build := func() any {
		out := &tracker.Object{}
		for _, t := range listed(snap) {
			if !in(p.l("cluster"), t.Cluster) || !in(p.l("environ"), t.Environ) || (p.s("role") != "" && t.Role != p.s("role")) {
				continue
			}
			envs := child(child(out, t.Cluster), t.Role)
			v, _ := envs.Get(t.Environ)
			names, _ := v.([]string)
			envs.Set(t.Environ, append(names, t.Name))
		}
		b, _ := encode(out)
		return b
	}
	if len(p.l("cluster")) == 0 && len(p.l("environ")) == 0 && p.s("role") == "" {
		return snap.Memo("topologies", build).([]byte), nil
	}
	return build().([]byte), nil
}

// states is cluster → environ → name → execution state. Topologies with an
// empty role are kept (Heron 0.20.5 drops them).
func (s *Server) states(_ *http.Request, p *params) ([]byte, error) {
	snap := s.src.Snapshot()
	build := func() any {
		out := &tracker.Object{}
		for _, t := range listed(snap) {
			if !in(p.l("cluster"), t.Cluster) || !in(p.l("environ"), t.Environ) || (p.s("role") != "" && t.Role != p.s("role")) {
				continue
			}
			child(child(out, t.Cluster), t.Environ).Set(t.Name, t.Views.ExecState)
		}
		b, _ := encode(out)
		return b
	}
	if len(p.l("cluster")) == 0 && len(p.l("environ")) == 0 && p.s("role") == "" {
		return snap.Memo("states", build).([]byte), nil
	}
	return build().([]byte), nil
}

// machines is cluster → environ → topology → stream-manager hosts (Heron
// 0.20.5 always fails here; this is the 0.20.4 behaviour).
func (s *Server) machines(_ *http.Request, p *params) ([]byte, error) {
	if len(p.l("topology")) > 1 {
		var missing []any
		for _, n := range []string{"cluster", "environ"} {
			if len(p.l(n)) == 0 {
				missing = append(missing, map[string]any{"loc": []string{"query", n}, "msg": "field required when more than one topology is given", "type": "value_error.missing"})
			}
		}
		if missing != nil {
			return nil, &apiError{code: http.StatusUnprocessableEntity, msg: "missing parameters", detail: missing}
		}
	}
	out := &tracker.Object{}
	for _, t := range listed(s.src.Snapshot()) {
		if !in(p.l("cluster"), t.Cluster) || !in(p.l("environ"), t.Environ) || !in(p.l("topology"), t.Name) {
			continue
		}
		var hosts []string
		ids := make([]string, 0, len(t.StMgrs))
		for id := range t.StMgrs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			hosts = append(hosts, t.StMgrs[id].Host)
		}
		if hosts == nil {
			hosts = []string{}
		}
		child(child(out, t.Cluster), t.Environ).Set(t.Name, hosts)
	}
	return encode(out)
}
