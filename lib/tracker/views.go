package tracker

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
)

// Views are a topology's answers, rendered once whenever its state changes
// so that serving them is a map lookup.
type Views struct {
	Info              []byte
	LogicalPlan       []byte
	PhysicalPlan      []byte
	PackingPlan       []byte
	ExecutionState    []byte
	Metadata          []byte
	SchedulerLocation []byte
	Config            []byte

	// ExecState is the execution-state object, for /topologies/states.
	ExecState *Object
	// RuntimeState is the runtime-state object without the stmgrs map.
	RuntimeState *Object
	// ID is the topology id (pplan, else packing plan), empty if none.
	ID string
	// Status is Running, Paused, Killed or Unknown.
	Status string
}

// Instance locates one instance for the container endpoints.
type Instance struct {
	ID        string
	Component string
	StMgr     string
}

// StMgr locates one container's stream manager and shell.
type StMgr struct {
	ID        string
	Host      string
	ShellPort int
}

// ExtraLink is one tracker-config link: extra.links in heron_tracker.yaml.
type ExtraLink struct {
	Name      string `yaml:"name" json:"name"`
	Formatter string `yaml:"formatter" json:"formatter"`
}

var templateVar = regexp.MustCompile(`\$(?:\$|\{([_a-zA-Z][_a-zA-Z0-9]*)\}|([_a-zA-Z][_a-zA-Z0-9]*))`)

// linkVars are the names a link formatter may use.
var linkVars = []string{"CLUSTER", "ENVIRON", "TOPOLOGY", "ROLE", "USER"}

// CheckFormatter rejects a formatter that uses other names than linkVars,
// as Heron's tracker does at start-up.
func CheckFormatter(f string) error {
	for _, m := range templateVar.FindAllStringSubmatch(f, -1) {
		name := m[1] + m[2]
		if name == "" {
			continue
		}
		ok := false
		for _, v := range linkVars {
			if strings.EqualFold(v, name) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("invalid extra.links formatter %q: unknown variable $%s (use ${CLUSTER}, ${ENVIRON}, ${TOPOLOGY}, ${ROLE} or ${USER})", f, name)
		}
	}
	return nil
}

// substitute fills a Python string.Template; unknown names stay as written
// (Heron's tracker fails the whole topology instead).
func substitute(f string, vars map[string]string) string {
	return templateVar.ReplaceAllStringFunc(f, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := strings.Trim(m, "${}")
		if v, ok := vars[strings.ToUpper(name)]; ok {
			return v
		}
		return m
	})
}

func links(ls []ExtraLink, vars map[string]string) []any {
	out := make([]any, 0, len(ls))
	for _, l := range ls {
		out = append(out, new(Object).Set("name", l.Name).Set("formatter", l.Formatter).Set("url", substitute(l.Formatter, vars)))
	}
	return out
}

// state is the five watched nodes of one topology.
type state struct {
	pplan    *systempb.PhysicalPlan
	packing  *systempb.PackingPlan
	exec     *systempb.ExecutionState
	tmanager *tmanagerpb.TManagerLocation
	sched    *schedulerpb.SchedulerLocation
}

func statusOf(p *systempb.PhysicalPlan) string {
	if p == nil || p.Topology == nil {
		return "Unknown"
	}
	switch p.Topology.GetState() {
	case apipb.TopologyState_RUNNING:
		return "Running"
	case apipb.TopologyState_PAUSED:
		return "Paused"
	case apipb.TopologyState_KILLED:
		return "Killed"
	}
	return "Unknown"
}

// configValue converts one config entry as Heron's tracker does. ok is
// false when the key is left out.
func configValue(kv *apipb.Config_KeyValue, primitivesOnly bool) (any, bool) {
	if kv.GetValue() != "" {
		return kv.GetValue(), true
	}
	if kv.SerializedValue == nil {
		return nil, false
	}
	raw := hex.EncodeToString(kv.GetSerializedValue())
	opaque := func(v string) (any, bool) {
		if primitivesOnly {
			return nil, false
		}
		return new(Object).Set("value", v).Set("raw", raw), true
	}
	if kv.GetType() != apipb.ConfigValueType_JAVA_SERIALIZED_VALUE {
		return opaque("{}")
	}
	v, err := decodeJava(kv.GetSerializedValue())
	if err != nil {
		return opaque("{}")
	}
	switch t := v.(type) {
	case string, bool, int64:
		return t, true
	case float64:
		return Float(t), true
	}
	if primitivesOnly {
		return nil, false
	}
	b, err := pyDump(v)
	if err != nil {
		return opaque("{}")
	}
	return opaque(b)
}

// pyDump is Python's json.dumps(v, indent=2, sort_keys=True).
func pyDump(v any) (string, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(plain(v)); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// plain turns decoded Java values into JSON-ready ones.
func plain(v any) any {
	switch t := v.(type) {
	case float64:
		return Float(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = plain(e)
		}
		return out
	case *jobject:
		out := make(map[string]any, len(t.fields))
		for k, e := range t.fields {
			if e == v {
				continue
			}
			out[k] = plain(e)
		}
		return out
	}
	return v
}

func configObject(c *apipb.Config, primitivesOnly bool) *Object {
	o := &Object{}
	for _, kv := range c.GetKvs() {
		if v, ok := configValue(kv, primitivesOnly); ok {
			o.Set(kv.GetKey(), v)
		}
	}
	return o
}

func configString(c *apipb.Config, key, def string) string {
	for _, kv := range c.GetKvs() {
		if kv.GetKey() == key {
			if v, ok := configValue(kv, true); ok {
				return fmt.Sprint(v)
			}
		}
	}
	return def
}

func outputs(os []*apipb.OutputStream) []any {
	out := make([]any, 0, len(os))
	for _, o := range os {
		out = append(out, new(Object).Set("stream_name", o.GetStream().GetId()))
	}
	return out
}

// spoutLinks parses a spout's extra.links config: a JSON list of {name, formatter}.
func spoutLinks(c *apipb.Config, vars map[string]string) []any {
	s := configString(c, "extra.links", "")
	if s == "" {
		return []any{}
	}
	var ls []ExtraLink
	if err := json.Unmarshal([]byte(s), &ls); err != nil {
		return []any{}
	}
	return links(ls, vars)
}

// logicalPlan is §1.3.4: built from the topology inside the physical plan.
func logicalPlan(p *systempb.PhysicalPlan, vars map[string]string) *Object {
	spouts, bolts := &Object{}, &Object{}
	lp := new(Object).Set("bolts", bolts).Set("spouts", spouts)
	if p == nil || p.Topology == nil {
		return lp.Set("stages", 0)
	}
	t := p.Topology
	for _, s := range t.GetSpouts() {
		c := s.GetComp().GetConfig()
		spouts.Set(s.GetComp().GetName(), new(Object).
			Set("config", configObject(c, true)).
			Set("spout_type", configString(c, "spout.type", "default")).
			Set("spout_source", configString(c, "spout.source", "NA")).
			Set("version", configString(c, "spout.version", "NA")).
			Set("outputs", outputs(s.GetOutputs())).
			Set("extra_links", spoutLinks(c, vars)))
	}
	edges := map[string][]string{}
	for _, b := range t.GetBolts() {
		inputs := make([]any, 0, len(b.GetInputs()))
		comps := make([]any, 0, len(b.GetInputs()))
		for _, in := range b.GetInputs() {
			inputs = append(inputs, new(Object).
				Set("stream_name", in.GetStream().GetId()).
				Set("component_name", in.GetStream().GetComponentName()).
				Set("grouping", in.GetGtype().String()))
			comps = append(comps, in.GetStream().GetComponentName())
			edges[in.GetStream().GetComponentName()] = append(edges[in.GetStream().GetComponentName()], b.GetComp().GetName())
		}
		bolts.Set(b.GetComp().GetName(), new(Object).
			Set("config", configObject(b.GetComp().GetConfig(), true)).
			Set("outputs", outputs(b.GetOutputs())).
			Set("inputs", inputs).
			Set("inputComponents", comps))
	}
	return lp.Set("stages", stages(edges))
}

// stages is the longest path of the component DAG, counted in edges. A
// cycle (which Heron's tracker cannot handle) counts each node once.
func stages(edges map[string][]string) int {
	memo := map[string]int{}
	onPath := map[string]bool{}
	var depth func(n string) int
	depth = func(n string) int {
		if d, ok := memo[n]; ok {
			return d
		}
		if onPath[n] {
			return 0
		}
		onPath[n] = true
		best := 0
		for _, m := range edges[n] {
			if d := depth(m) + 1; d > best {
				best = d
			}
		}
		onPath[n] = false
		memo[n] = best
		return best
	}
	best := 0
	for n := range edges {
		if d := depth(n); d > best {
			best = d
		}
	}
	return best
}

func optInt(set bool, v int32) any {
	if !set {
		return nil
	}
	return int(v)
}

// instanceGroup is the container part of an instance id: container_<n>.
// Heron strips the last two '_' fields, which breaks on component names
// with '_'; ids that follow Heron's form are cut after the container number.
func instanceGroup(id string) string {
	if rest, ok := strings.CutPrefix(id, "container_"); ok {
		if i := strings.IndexByte(rest, '_'); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				return "container_" + rest[:i]
			}
		}
	}
	parts := strings.Split(id, "_")
	if len(parts) > 2 {
		return strings.Join(parts[:len(parts)-2], "_")
	}
	return id
}

// physicalPlan is §1.3.5.
func physicalPlan(p *systempb.PhysicalPlan) (*Object, map[string]Instance, map[string]StMgr) {
	instances, groups, stmgrs := &Object{}, &Object{}, &Object{}
	spouts, bolts, components := &Object{}, &Object{}, &Object{}
	config := &Object{}
	idx := map[string]Instance{}
	sidx := map[string]StMgr{}
	out := new(Object).Set("instances", instances).Set("instance_groups", groups).Set("stmgrs", stmgrs).
		Set("spouts", spouts).Set("bolts", bolts).Set("config", config).Set("components", components)
	if p == nil {
		return out, idx, sidx
	}
	byStmgr := map[string]*systempb.StMgr{}
	for _, s := range p.GetStmgrs() {
		byStmgr[s.GetId()] = s
		sidx[s.GetId()] = StMgr{ID: s.GetId(), Host: s.GetHostName(), ShellPort: int(s.GetShellPort())}
	}
	shellURL := func(s *systempb.StMgr, path string) any {
		if s == nil || s.ShellPort == nil {
			return nil
		}
		return fmt.Sprintf("http://%s:%d/%s", s.GetHostName(), s.GetShellPort(), path)
	}
	idsByStmgr := map[string][]any{}
	compInstances := map[string][]any{}
	for _, in := range p.GetInstances() {
		id := in.GetInstanceId()
		comp := in.GetInfo().GetComponentName()
		idx[id] = Instance{ID: id, Component: comp, StMgr: in.GetStmgrId()}
		instances.Set(id, new(Object).Set("id", id).Set("name", comp).Set("stmgr_id", in.GetStmgrId()).
			Set("logfile", shellURL(byStmgr[in.GetStmgrId()], "file/log-files/"+id+".log.0")))
		g := instanceGroup(id)
		v, _ := groups.Get(g)
		l, _ := v.([]any)
		groups.Set(g, append(l, id))
		idsByStmgr[in.GetStmgrId()] = append(idsByStmgr[in.GetStmgrId()], id)
		compInstances[comp] = append(compInstances[comp], id)
	}
	for _, s := range p.GetStmgrs() {
		ids := idsByStmgr[s.GetId()]
		if ids == nil {
			ids = []any{}
		}
		stmgrs.Set(s.GetId(), new(Object).Set("id", s.GetId()).Set("host", s.GetHostName()).
			Set("port", int(s.GetDataPort())).Set("shell_port", optInt(s.ShellPort != nil, s.GetShellPort())).
			Set("cwd", s.GetCwd()).Set("pid", int(s.GetPid())).
			Set("joburl", shellURL(s, "browse/")).Set("logfiles", shellURL(s, "browse/log-files")).
			Set("instance_ids", ids))
	}
	list := func(c string) []any {
		if l := compInstances[c]; l != nil {
			return l
		}
		return []any{}
	}
	t := p.GetTopology()
	for _, s := range t.GetSpouts() {
		spouts.Set(s.GetComp().GetName(), list(s.GetComp().GetName()))
		components.Set(s.GetComp().GetName(), new(Object).Set("config", configObject(s.GetComp().GetConfig(), false)))
	}
	for _, b := range t.GetBolts() {
		bolts.Set(b.GetComp().GetName(), list(b.GetComp().GetName()))
		components.Set(b.GetComp().GetName(), new(Object).Set("config", configObject(b.GetComp().GetConfig(), false)))
	}
	*config = *configObject(t.GetTopologyConfig(), false)
	return out, idx, sidx
}

func resource(r *systempb.Resource) *Object {
	return new(Object).Set("cpu", Float(r.GetCpu())).Set("ram", r.GetRam()).Set("disk", r.GetDisk())
}

// packingPlan is §1.3.6, with the real scheduled disk (Heron 0.20.5 repeats ram).
func packingPlan(p *systempb.PackingPlan) *Object {
	plans := []any{}
	for _, c := range p.GetContainerPlans() {
		ins := []any{}
		for _, i := range c.GetInstancePlans() {
			ins = append(ins, new(Object).Set("component_name", i.GetComponentName()).Set("task_id", int(i.GetTaskId())).
				Set("component_index", int(i.GetComponentIndex())).Set("instance_resources", resource(i.GetResource())))
		}
		plans = append(plans, new(Object).Set("id", int(c.GetId())).Set("instances", ins).
			Set("required_resources", resource(c.GetRequiredResource())).
			Set("scheduled_resources", resource(c.GetScheduledResource())))
	}
	return new(Object).Set("id", p.GetId()).Set("container_plans", plans)
}

func metadata(s *state, links []ExtraLink) *Object {
	e := s.exec
	rs := e.GetReleaseState()
	n := 0
	if s.pplan != nil {
		n = len(s.pplan.GetInstances())
	}
	return new(Object).Set("cluster", e.GetCluster()).Set("environ", e.GetEnviron()).Set("role", e.GetRole()).
		Set("jobname", e.GetTopologyName()).Set("submission_time", e.GetSubmissionTime()).
		Set("submission_user", e.GetSubmissionUser()).Set("release_username", rs.GetReleaseUsername()).
		Set("release_tag", rs.GetReleaseTag()).Set("release_version", rs.GetReleaseVersion()).
		Set("instances", n).Set("extra_links", linksFor(s, links))
}

func vars(s *state, name string) map[string]string {
	return map[string]string{
		"CLUSTER": s.exec.GetCluster(), "ENVIRON": s.exec.GetEnviron(), "ROLE": s.exec.GetRole(),
		"TOPOLOGY": name, "USER": s.exec.GetSubmissionUser(),
	}
}

func linksFor(s *state, ls []ExtraLink) []any {
	return links(ls, vars(s, s.exec.GetTopologyName()))
}

func hasFlags(o *Object, s *state) *Object {
	return o.Set("has_physical_plan", s.pplan != nil).Set("has_packing_plan", s.packing != nil).
		Set("has_tmanager_location", s.tmanager != nil).Set("has_scheduler_location", s.sched != nil)
}

// buildViews renders every answer of a topology. It needs an execution
// state: without one Heron's tracker has no info for the topology either.
func buildViews(name string, s *state, ls []ExtraLink) (*Views, map[string]Instance, map[string]StMgr, error) {
	if s.exec == nil {
		return nil, nil, nil, fmt.Errorf("topology %s has no execution state yet", name)
	}
	v := &Views{Status: statusOf(s.pplan)}
	meta := metadata(s, ls)
	exec := new(Object)
	for _, k := range meta.Keys() {
		val, _ := meta.Get(k)
		exec.Set(k, val)
	}
	hasFlags(exec, s).Set("status", v.Status)
	v.ExecState = exec

	lp := logicalPlan(s.pplan, vars(s, name))
	pp, idx, sidx := physicalPlan(s.pplan)
	var pk *Object
	if s.packing == nil {
		pk = new(Object).Set("id", "").Set("container_plans", []any{})
	} else {
		pk = packingPlan(s.packing)
	}
	var id any
	switch {
	case s.pplan != nil && s.pplan.GetTopology().GetId() != "":
		id = s.pplan.GetTopology().GetId()
	case s.packing != nil:
		id = s.packing.GetId()
	}
	if str, ok := id.(string); ok {
		v.ID = str
	}
	sched := new(Object).Set("name", nil).Set("http_endpoint", nil).Set("job_page_link", nil)
	if s.sched != nil {
		link := ""
		if l := s.sched.GetJobPageLink(); len(l) > 0 {
			link = l[0]
		}
		sched.Set("name", s.sched.GetTopologyName()).Set("http_endpoint", s.sched.GetHttpEndpoint()).Set("job_page_link", link)
	}
	tm := new(Object).Set("name", nil).Set("id", nil).Set("host", nil).Set("controller_port", nil).
		Set("server_port", nil).Set("stats_port", nil)
	if t := s.tmanager; t != nil {
		tm.Set("name", t.GetTopologyName()).Set("id", t.GetTopologyId()).Set("host", t.GetHost()).
			Set("controller_port", int(t.GetControllerPort())).Set("server_port", int(t.GetServerPort())).
			Set("stats_port", optInt(t.StatsPort != nil, t.GetStatsPort()))
	}
	v.RuntimeState = hasFlags(new(Object), s)
	rt := hasFlags(new(Object), s).Set("stmgrs", &Object{})
	info := new(Object).Set("execution_state", exec).Set("id", id).Set("logical_plan", lp).Set("metadata", meta).
		Set("name", name).Set("packing_plan", pk).Set("physical_plan", pp).Set("runtime_state", rt).
		Set("scheduler_location", sched).Set("tmanager_location", tm)
	cfg, _ := pp.Get("config")

	var err error
	enc := func(x any) []byte {
		b, e := marshal(x)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	v.Info = enc(info)
	v.LogicalPlan = enc(lp)
	v.PhysicalPlan = enc(pp)
	v.PackingPlan = enc(pk)
	v.ExecutionState = enc(exec)
	v.Metadata = enc(meta)
	v.SchedulerLocation = enc(sched)
	v.Config = enc(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("render topology %s: %w", name, err)
	}
	return v, idx, sidx, nil
}
