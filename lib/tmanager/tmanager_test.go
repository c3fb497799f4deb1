package tmanager

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"

	_ "github.com/heronkit/heronkit/lib/statemgr/localfs"
)

const (
	topoName = "WordCount"
	topoID   = "WordCount-3c8f"
)

func kv(k, v string) *apipb.Config_KeyValue {
	return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
}

func testTopology() *apipb.Topology {
	comp := func(name string) *apipb.Component {
		return &apipb.Component{Name: proto.String(name), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv("topology.component.parallelism", "2")}}}
	}
	return &apipb.Topology{Id: proto.String(topoID), Name: proto.String(topoName), State: apipb.TopologyState_RUNNING.Enum(),
		TopologyConfig: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv("topology.message.timeout.secs", "30")}},
		Spouts:         []*apipb.Spout{{Comp: comp("word")}},
		Bolts: []*apipb.Bolt{{Comp: comp("count"), Inputs: []*apipb.InputStream{{
			Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String("word")}, Gtype: apipb.Grouping_SHUFFLE.Enum()}}}},
	}
}

// packing builds a plan: container id → "component:task:index" items.
func packing(id string, containers map[int32][]string) *systempb.PackingPlan {
	res := func() *systempb.Resource {
		return &systempb.Resource{Cpu: proto.Float64(1), Ram: proto.Int64(256 << 20), Disk: proto.Int64(1 << 30)}
	}
	pp := &systempb.PackingPlan{Id: proto.String(id)}
	for _, cid := range slices.Sorted(maps.Keys(containers)) {
		items := containers[cid]
		cp := &systempb.ContainerPlan{Id: proto.Int32(cid), RequiredResource: res()}
		for _, it := range items {
			var comp string
			var task, idx int32
			if _, err := fmt.Sscanf(strings.ReplaceAll(it, ":", " "), "%s %d %d", &comp, &task, &idx); err != nil {
				panic(err)
			}
			cp.InstancePlans = append(cp.InstancePlans, &systempb.InstancePlan{ComponentName: proto.String(comp),
				TaskId: proto.Int32(task), ComponentIndex: proto.Int32(idx), Resource: res()})
		}
		pp.ContainerPlans = append(pp.ContainerPlans, cp)
	}
	return pp
}

// Round-robin over two containers, as Heron packs 2 + 2 instances.
func twoContainers() *systempb.PackingPlan {
	return packing("plan-a", map[int32][]string{1: {"word:1:0", "count:3:0"}, 2: {"word:2:1", "count:4:1"}})
}

// env is a topology manager over a local file-system state manager.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  statemgr.Store
	nodes  nodes.Client
	tm     *TManager
	port   int
	ctl    *httptest.Server
	stop   context.CancelFunc
	exited chan error
	once   sync.Once
}

func openStore(t *testing.T, root string) statemgr.Store {
	t.Helper()
	s, err := statemgr.Open(context.Background(), "file://"+root, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newEnv(t *testing.T, store statemgr.Store, pp *systempb.PackingPlan) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, store: store, nodes: nodes.Client{Store: store}, exited: make(chan error, 1)}
	if pp != nil {
		e.setPacking(pp)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.port = ln.Addr().(*net.TCPAddr).Port
	e.tm = New(Options{Store: store, Topology: testTopology(), Host: "127.0.0.1", ServerPort: e.port,
		ControllerPort: 6002, StatsPort: 6003, Log: zerolog.Nop()})
	e.ctl = httptest.NewServer(e.tm.ControllerHandler())
	t.Cleanup(e.ctl.Close)
	rctx, cancel := context.WithCancel(ctx)
	e.stop = cancel
	go func() { e.exited <- e.tm.Run(rctx, ln) }()
	t.Cleanup(e.shutdown)
	return e
}

// shutdown stops the topology manager and waits for Run to return.
func (e *env) shutdown() {
	e.once.Do(func() {
		e.stop()
		select {
		case err := <-e.exited:
			if err != nil {
				e.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			e.t.Error("Run did not return after its context ended")
		}
	})
}

func (e *env) setPacking(pp *systempb.PackingPlan) {
	e.t.Helper()
	if err := e.nodes.Set(e.ctx, statemgr.PackingPlans, topoName, pp); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) poll(what string, check func() error) {
	e.t.Helper()
	if err := testserver.Poll(e.ctx, 10*time.Second, check); err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// container is a stream manager's link to the topology manager: a real
// Client, recording the physical plans it receives.
type container struct {
	client *Client
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	plans  []*systempb.PhysicalPlan
}

func (e *env) register(id int32, pid int32, packingID string) *container {
	e.t.Helper()
	return e.registerAs(Registration{StmgrID: fmt.Sprintf("stmgr-%d", id), TopologyID: topoID, Host: "127.0.0.1",
		DataPort: 7000 + id, LocalDataPort: 7100 + id, ShellPort: 7200 + id, Pid: pid,
		Cwd: fmt.Sprintf("/sandbox/%d", id), PackingPlanID: packingID})
}

func (e *env) registerAs(reg Registration) *container {
	e.t.Helper()
	c := &container{done: make(chan struct{})}
	c.client = &Client{Store: e.store, Topology: topoName, Log: zerolog.Nop(), Reg: reg,
		OnPlan: func(p *systempb.PhysicalPlan) {
			c.mu.Lock()
			c.plans = append(c.plans, p)
			c.mu.Unlock()
		}}
	ctx, cancel := context.WithCancel(e.ctx)
	c.stop = func() {
		cancel()
		<-c.done
	}
	go func() {
		defer close(c.done)
		_ = c.client.Run(ctx)
	}()
	e.t.Cleanup(c.stop)
	return c
}

func (c *container) last() *systempb.PhysicalPlan {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.plans) == 0 {
		return nil
	}
	return c.plans[len(c.plans)-1]
}

// get calls a controller endpoint with query parameters (topologyid
// included when id is not "-").
func (e *env) get(path, id string, params ...string) (int, string) {
	e.t.Helper()
	q := url.Values{}
	if id != "-" {
		q.Set("topologyid", id)
	}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	resp, err := http.Get(e.ctl.URL + path + "?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (e *env) expect(path, id string, code int, text string, params ...string) {
	e.t.Helper()
	gotCode, gotText := e.get(path, id, params...)
	if gotCode != code || (text != "" && gotText != text) {
		e.t.Errorf("%s %v: %d %q, want %d %q", path, params, gotCode, gotText, code, text)
	}
}

// storedPlan polls the physical plan in the state manager until check
// accepts it.
func (e *env) storedPlan(what string, check func(*systempb.PhysicalPlan) error) *systempb.PhysicalPlan {
	e.t.Helper()
	var pp *systempb.PhysicalPlan
	e.poll(what, func() error {
		var err error
		if pp, err = e.nodes.PhysicalPlan(e.ctx, topoName); err != nil {
			return err
		}
		return check(pp)
	})
	return pp
}

func stateIs(s apipb.TopologyState) func(*systempb.PhysicalPlan) error {
	return func(pp *systempb.PhysicalPlan) error {
		if got := pp.GetTopology().GetState(); got != s {
			return fmt.Errorf("state %v, want %v", got, s)
		}
		return nil
	}
}

func configValue(c *apipb.Config, key string) string {
	for _, kv := range c.GetKvs() {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return ""
}

// The location is written at start (replacing a stale one) and removed on
// the way out.
func TestLocation(t *testing.T) {
	store := openStore(t, t.TempDir())
	stale := &tmanagerpb.TManagerLocation{TopologyName: proto.String(topoName), TopologyId: proto.String("old"),
		Host: proto.String("gone.example"), ControllerPort: proto.Int32(1), ServerPort: proto.Int32(2)}
	if err := (nodes.Client{Store: store}).Set(context.Background(), statemgr.TManagers, topoName, stale); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, store, twoContainers())
	var loc *tmanagerpb.TManagerLocation
	e.poll("location", func() error {
		var err error
		if loc, err = e.nodes.TManagerLocation(e.ctx, topoName); err != nil {
			return err
		}
		if loc.GetTopologyId() != topoID {
			return fmt.Errorf("location of topology %q", loc.GetTopologyId())
		}
		return nil
	})
	want := &tmanagerpb.TManagerLocation{TopologyName: proto.String(topoName), TopologyId: proto.String(topoID),
		Host: proto.String("127.0.0.1"), ControllerPort: proto.Int32(6002), ServerPort: proto.Int32(int32(e.port)),
		StatsPort: proto.Int32(6003)}
	if !proto.Equal(loc, want) {
		t.Errorf("location %v, want %v", loc, want)
	}
	e.shutdown()
	if _, err := e.nodes.TManagerLocation(e.ctx, topoName); !errors.Is(err, statemgr.ErrNotFound) {
		t.Errorf("location after stop: %v, want not found", err)
	}
}

// Containers register; once every container of the packing plan has, the
// physical plan is assembled with Heron's ids, written and sent to every
// stream manager.
func TestRegistrationAndPhysicalPlan(t *testing.T) {
	e := newEnv(t, openStore(t, t.TempDir()), twoContainers())
	c1 := e.register(1, 101, "plan-a")
	e.poll("stmgr-1 registered", func() error {
		if reg, absent := e.tm.Registrations(); fmt.Sprint(reg, absent) != "[stmgr-1] [stmgr-2]" {
			return fmt.Errorf("registered %v, absent %v", reg, absent)
		}
		return nil
	})
	if e.tm.PhysicalPlan() != nil {
		t.Fatal("a physical plan exists with one of two containers registered")
	}
	if _, err := e.nodes.PhysicalPlan(e.ctx, topoName); !errors.Is(err, statemgr.ErrNotFound) {
		t.Fatalf("physical plan written before every container registered: %v", err)
	}

	c2 := e.register(2, 102, "plan-a")
	pp := e.storedPlan("physical plan", func(pp *systempb.PhysicalPlan) error { return nil })
	var stmgrs []string
	for _, s := range pp.GetStmgrs() {
		stmgrs = append(stmgrs, fmt.Sprintf("%s %s:%d local=%d shell=%d pid=%d cwd=%s", s.GetId(), s.GetHostName(),
			s.GetDataPort(), s.GetLocalDataPort(), s.GetShellPort(), s.GetPid(), s.GetCwd()))
	}
	if want := []string{"stmgr-1 127.0.0.1:7001 local=7101 shell=7201 pid=101 cwd=/sandbox/1",
		"stmgr-2 127.0.0.1:7002 local=7102 shell=7202 pid=102 cwd=/sandbox/2"}; fmt.Sprint(stmgrs) != fmt.Sprint(want) {
		t.Errorf("stream managers:\n got  %q\n want %q", stmgrs, want)
	}
	var instances []string
	for _, in := range pp.GetInstances() {
		instances = append(instances, fmt.Sprintf("%s@%s task=%d index=%d comp=%s", in.GetInstanceId(), in.GetStmgrId(),
			in.GetInfo().GetTaskId(), in.GetInfo().GetComponentIndex(), in.GetInfo().GetComponentName()))
	}
	if want := []string{"container_1_word_1@stmgr-1 task=1 index=0 comp=word", "container_1_count_3@stmgr-1 task=3 index=0 comp=count",
		"container_2_word_2@stmgr-2 task=2 index=1 comp=word", "container_2_count_4@stmgr-2 task=4 index=1 comp=count"}; fmt.Sprint(instances) != fmt.Sprint(want) {
		t.Errorf("instances:\n got  %q\n want %q", instances, want)
	}
	if !proto.Equal(pp.GetTopology(), testTopology()) {
		t.Errorf("the plan's topology differs from the logical plan: %v", pp.GetTopology())
	}
	if !proto.Equal(e.tm.PhysicalPlan(), pp) {
		t.Error("PhysicalPlan() differs from the stored plan")
	}
	for i, c := range []*container{c1, c2} {
		e.poll(fmt.Sprintf("stmgr-%d receives the plan", i+1), func() error {
			if !proto.Equal(c.last(), pp) {
				return errors.New("not yet")
			}
			return nil
		})
	}

	// /get_current_physical_plan: the plan, base64 of its proto bytes.
	code, body := e.get("/get_current_physical_plan", topoID)
	raw, err := base64.StdEncoding.DecodeString(body)
	got := &systempb.PhysicalPlan{}
	if code != 200 || err != nil || proto.Unmarshal(raw, got) != nil || !proto.Equal(got, pp) {
		t.Errorf("/get_current_physical_plan: %d %q", code, body)
	}

	// A container that comes back (new pid) shows up in a new plan.
	c2.stop()
	e.register(2, 202, "plan-a")
	e.storedPlan("plan with the new pid", func(pp *systempb.PhysicalPlan) error {
		if pid := pp.GetStmgrs()[1].GetPid(); pid != 202 {
			return fmt.Errorf("stmgr-2 pid %d", pid)
		}
		return nil
	})
}

// A new packing plan is assembled once every container registered for it.
func TestPackingPlanChange(t *testing.T) {
	e := newEnv(t, openStore(t, t.TempDir()), twoContainers())
	c1 := e.register(1, 101, "plan-a")
	e.register(2, 102, "plan-a")
	e.storedPlan("first plan", func(pp *systempb.PhysicalPlan) error { return nil })

	// Scale down to one container holding all four instances.
	e.setPacking(packing("plan-b", map[int32][]string{1: {"word:1:0", "word:2:1", "count:3:0", "count:4:1"}}))
	e.poll("new plan seen", func() error {
		if reg, absent := e.tm.Registrations(); fmt.Sprint(reg, absent) != "[stmgr-1] []" {
			return fmt.Errorf("registered %v, absent %v", reg, absent)
		}
		return nil
	})
	// stmgr-1 still runs plan-a: nothing new is written.
	if pp, _ := e.nodes.PhysicalPlan(e.ctx, topoName); len(pp.GetStmgrs()) != 2 {
		t.Fatalf("plan rewritten before stmgr-1 registered for the new packing plan: %v", pp.GetStmgrs())
	}
	c1.stop()
	e.register(1, 111, "plan-b")
	pp := e.storedPlan("plan for plan-b", func(pp *systempb.PhysicalPlan) error {
		if len(pp.GetStmgrs()) != 1 {
			return fmt.Errorf("%d stream managers", len(pp.GetStmgrs()))
		}
		return nil
	})
	var ids []string
	for _, in := range pp.GetInstances() {
		ids = append(ids, in.GetInstanceId())
	}
	if want := "[container_1_word_1 container_1_word_2 container_1_count_3 container_1_count_4]"; fmt.Sprint(ids) != want {
		t.Errorf("instances %v, want %s", ids, want)
	}
}

// As in Heron, every packing plan of a topology has the topology id as its
// id: a container that registered for the previous plan does not count for
// the new one (its digest differs) until it registers again running it.
func TestPackingPlanChangeSameID(t *testing.T) {
	a := packing(topoID, map[int32][]string{1: {"word:1:0", "count:3:0"}, 2: {"word:2:1", "count:4:1"}})
	b := packing(topoID, map[int32][]string{1: {"word:1:0", "count:3:0"}, 2: {"word:2:1"}, 3: {"count:4:1"}})
	e := newEnv(t, openStore(t, t.TempDir()), a)
	reg := func(id, pid int32, pp *systempb.PackingPlan) *container {
		return e.registerAs(Registration{StmgrID: fmt.Sprintf("stmgr-%d", id), TopologyID: topoID, Host: "127.0.0.1",
			DataPort: 7000 + id, Pid: pid, PackingPlanID: pp.GetId(), PackingPlanDigest: PlanDigest(pp), Session: 1})
	}
	c1, c2 := reg(1, 101, a), reg(2, 102, a)
	e.storedPlan("first plan", func(pp *systempb.PhysicalPlan) error { return nil })

	e.setPacking(b)
	reg(3, 103, b)
	e.poll("stmgr-3 registered", func() error {
		if r, absent := e.tm.Registrations(); len(r) != 3 {
			return fmt.Errorf("registered %v, absent %v", r, absent)
		}
		return nil
	})
	// Containers 1 and 2 still run the previous plan: nothing is written.
	if pp, _ := e.nodes.PhysicalPlan(e.ctx, topoName); len(pp.GetStmgrs()) != 2 {
		t.Fatalf("physical plan rewritten while containers 1 and 2 ran the previous packing plan: %v", pp.GetStmgrs())
	}
	if code, _ := e.get("/get_current_physical_plan", topoID); code != 400 {
		t.Errorf("/get_current_physical_plan during the change: %d, want 400", code)
	}
	c1.stop()
	c2.stop()
	reg(1, 101, b)
	reg(2, 102, b)
	e.storedPlan("plan for the new packing plan", func(pp *systempb.PhysicalPlan) error {
		if len(pp.GetStmgrs()) != 3 || len(pp.GetInstances()) != 4 {
			return fmt.Errorf("%d stream managers, %d instances", len(pp.GetStmgrs()), len(pp.GetInstances()))
		}
		return nil
	})
}

// A registration that reaches the topology manager after the next one of
// the same executor (its runtime restarted meanwhile) is refused and does
// not evict the newer one.
func TestOvertakenRegistrationRefused(t *testing.T) {
	pack := packing(topoID, map[int32][]string{1: {"word:1:0", "word:2:1", "count:3:0", "count:4:1"}})
	e := newEnv(t, openStore(t, t.TempDir()), pack)
	newer := Registration{StmgrID: "stmgr-1", TopologyID: topoID, Host: "127.0.0.1", DataPort: 7001, Pid: 101,
		PackingPlanID: topoID, PackingPlanDigest: PlanDigest(pack), Session: 2}
	c := e.registerAs(newer)
	e.storedPlan("plan", func(pp *systempb.PhysicalPlan) error { return nil })
	e.poll("stmgr-1 receives the plan", func() error {
		if c.last() == nil {
			return errors.New("not yet")
		}
		return nil
	})

	older := newer
	older.Session = 1
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, _ := json.Marshal(older)
	w, r := bufio.NewWriter(conn), bufio.NewReader(conn)
	if err := writeMsg(w, msgRegister, b); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, ack, err := readMsg(r)
	var a registerAck
	if err != nil || typ != msgRegisterAck || json.Unmarshal(ack, &a) != nil || a.OK || !strings.Contains(a.Message, "newer registration") {
		t.Fatalf("overtaken registration: answer %d %s (%v), want a refusal", typ, ack, err)
	}
	// The newer registration still holds: a runtime config change reaches
	// it over its connection.
	c.mu.Lock()
	n := len(c.plans)
	c.mu.Unlock()
	if code, body := e.get("/runtime_config/update", topoID, "runtime-config", "k:v"); code != 200 {
		t.Fatalf("runtime config: %d %q", code, body)
	}
	e.poll("stmgr-1 receives the new plan", func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.plans) <= n {
			return errors.New("not yet")
		}
		return nil
	})
}

// Registrations of another topology or with a bad id are refused.
func TestRegistrationRefused(t *testing.T) {
	e := newEnv(t, openStore(t, t.TempDir()), twoContainers())
	for _, tc := range []struct {
		reg  Registration
		want string
	}{
		{Registration{StmgrID: "stmgr-1", TopologyID: "other-id"}, `topology id "other-id" does not match`},
		{Registration{StmgrID: "container-1", TopologyID: topoID}, "bad stream manager id container-1"},
	} {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.port))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(tc.reg)
		w, r := bufio.NewWriter(conn), bufio.NewReader(conn)
		if err := writeMsg(w, msgRegister, b); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		typ, ack, err := readMsg(r)
		conn.Close()
		var a registerAck
		if err != nil || typ != msgRegisterAck || json.Unmarshal(ack, &a) != nil || a.OK || !strings.Contains(a.Message, tc.want) {
			t.Errorf("%+v: answer %d %s (%v), want a refusal saying %q", tc.reg, typ, ack, err, tc.want)
		}
	}
	if reg, _ := e.tm.Registrations(); len(reg) != 0 {
		t.Errorf("refused registrations were kept: %v", reg)
	}
}

// The controller endpoints: Heron's checks, status codes and texts, and
// the physical plan they change.
func TestController(t *testing.T) {
	e := newEnv(t, openStore(t, t.TempDir()), twoContainers())

	// Before every container registered: 500 for a right id, 400 otherwise.
	for _, path := range []string{"/activate", "/deactivate", "/runtime_config/update"} {
		e.expect(path, "-", 400, "Missing 'topologyid' argument in the request")
		e.expect(path, "someone-else", 400, "Topology id does not match")
		e.expect(path, topoID, 500, "Tmanager still not initialized (physical plan is not available)")
	}
	e.expect("/get_current_physical_plan", topoID, 400, "")

	c1 := e.register(1, 101, "plan-a")
	e.register(2, 102, "plan-a")
	e.storedPlan("first plan", stateIs(apipb.TopologyState_RUNNING))

	e.expect("/activate", topoID, 400, "") // already running
	e.expect("/deactivate", topoID, 200, "Topology successfully deactivated")
	e.storedPlan("paused plan", stateIs(apipb.TopologyState_PAUSED))
	e.poll("stmgr-1 receives the paused plan", func() error {
		if s := c1.last().GetTopology().GetState(); s != apipb.TopologyState_PAUSED {
			return fmt.Errorf("state %v", s)
		}
		return nil
	})
	e.expect("/deactivate", topoID, 400, "") // already paused
	e.expect("/activate", topoID, 200, "Topology successfully activated")
	e.storedPlan("running plan", stateIs(apipb.TopologyState_RUNNING))

	const usage = "No runtime config is found. Usage: runtime-config=[COMPONENT:]<CONFIG>:<VALUE>."
	const badFormat = "Failed to parse runtime configs. Possibly bad format. The expected format is [COMPONENT:]<CONFIG>:<VALUE>."
	e.expect("/runtime_config/update", topoID, 400, usage)
	e.expect("/runtime_config/update", topoID, 400, badFormat, "runtime-config", "novalue")
	e.expect("/runtime_config/update", topoID, 400, badFormat, "runtime-config", "a:b:c:d")
	e.expect("/runtime_config/update", topoID, 400, "Failed to validate runtime configs", "runtime-config", "nosuchbolt:k:v")
	e.expect("/runtime_config/update", topoID, 200, "Runtime config updated",
		"runtime-config", "topology.max.spout.pending:100", "runtime-config", "count:count.limit:7")
	pp := e.storedPlan("runtime config in the plan", func(pp *systempb.PhysicalPlan) error {
		if v := configValue(pp.GetTopology().GetTopologyConfig(), "topology.max.spout.pending:runtime"); v != "100" {
			return fmt.Errorf("topology config value %q", v)
		}
		return nil
	})
	if v := configValue(pp.GetTopology().GetBolts()[0].GetComp().GetConfig(), "count.limit:runtime"); v != "7" {
		t.Errorf("count.limit:runtime = %q, want 7", v)
	}
	if v := configValue(pp.GetTopology().GetSpouts()[0].GetComp().GetConfig(), "count.limit:runtime"); v != "" {
		t.Errorf("the spout got the bolt's config: %q", v)
	}
	// A second update of the same key replaces the value.
	e.expect("/runtime_config/update", topoID, 200, "Runtime config updated", "runtime-config", "count:count.limit:8")
	e.storedPlan("updated runtime config", func(pp *systempb.PhysicalPlan) error {
		kvs := pp.GetTopology().GetBolts()[0].GetComp().GetConfig().GetKvs()
		n := 0
		for _, kv := range kvs {
			if kv.GetKey() == "count.limit:runtime" {
				n++
				if kv.GetValue() != "8" {
					return fmt.Errorf("value %q", kv.GetValue())
				}
			}
		}
		if n != 1 {
			return fmt.Errorf("%d count.limit:runtime entries", n)
		}
		return nil
	})
}

// A topology manager that restarts keeps the state and runtime config the
// previous one left in the physical plan.
func TestRestartKeepsState(t *testing.T) {
	root := t.TempDir()
	store := openStore(t, root)
	e := newEnv(t, store, twoContainers())
	c1, c2 := e.register(1, 101, "plan-a"), e.register(2, 102, "plan-a")
	e.storedPlan("first plan", stateIs(apipb.TopologyState_RUNNING))
	e.expect("/deactivate", topoID, 200, "Topology successfully deactivated")
	e.expect("/runtime_config/update", topoID, 200, "Runtime config updated", "runtime-config", "word:rate:5")
	e.storedPlan("paused plan", func(pp *systempb.PhysicalPlan) error {
		if configValue(pp.GetTopology().GetSpouts()[0].GetComp().GetConfig(), "rate:runtime") != "5" {
			return errors.New("no runtime config yet")
		}
		return stateIs(apipb.TopologyState_PAUSED)(pp)
	})
	e.shutdown()

	// The containers follow the new location and register again.
	e2 := newEnv(t, store, nil)
	e2.poll("containers back", func() error {
		if reg, _ := e2.tm.Registrations(); len(reg) != 2 {
			return fmt.Errorf("registered %v", reg)
		}
		return nil
	})
	pp := e2.tm.PhysicalPlan()
	if pp.GetTopology().GetState() != apipb.TopologyState_PAUSED {
		t.Errorf("state after restart %v, want PAUSED", pp.GetTopology().GetState())
	}
	if v := configValue(pp.GetTopology().GetSpouts()[0].GetComp().GetConfig(), "rate:runtime"); v != "5" {
		t.Errorf("runtime config after restart %q, want 5", v)
	}
	e2.expect("/activate", topoID, 200, "Topology successfully activated")
	for i, c := range []*container{c1, c2} {
		e2.poll(fmt.Sprintf("stmgr-%d receives the running plan", i+1), func() error {
			if s := c.last().GetTopology().GetState(); s != apipb.TopologyState_RUNNING {
				return fmt.Errorf("state %v", s)
			}
			return nil
		})
	}
}
