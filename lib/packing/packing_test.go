package packing

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// topo builds a topology with components "name:parallelism" (the first is
// the spout) and topology config "key=value".
func topo(comps []string, conf ...string) *apipb.Topology {
	t := &apipb.Topology{Id: proto.String("T-id"), Name: proto.String("T"), State: apipb.TopologyState_RUNNING.Enum(), TopologyConfig: &apipb.Config{}}
	kv := func(k, v string) *apipb.Config_KeyValue {
		return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
	}
	for i, c := range comps {
		name, par, _ := strings.Cut(c, ":")
		comp := &apipb.Component{Name: proto.String(name), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv(native.KeyParallelism, par)}}}
		if i == 0 {
			t.Spouts = append(t.Spouts, &apipb.Spout{Comp: comp})
		} else {
			t.Bolts = append(t.Bolts, &apipb.Bolt{Comp: comp})
		}
	}
	for _, c := range conf {
		k, v, _ := strings.Cut(c, "=")
		t.TopologyConfig.Kvs = append(t.TopologyConfig.Kvs, kv(k, v))
	}
	return t
}

// layout renders a plan as "c1: A#1(0) B#3(0); c2: ..." for comparisons.
func layout(p *Plan) string {
	var parts []string
	for _, c := range p.Containers {
		var in []string
		for _, i := range c.Instances {
			in = append(in, fmt.Sprintf("%s#%d(%d)", i.Component, i.TaskID, i.ComponentIndex))
		}
		parts = append(parts, fmt.Sprintf("c%d: %s", c.ID, strings.Join(in, " ")))
	}
	return strings.Join(parts, "; ")
}

func mustPack(t *testing.T, algo string, top *apipb.Topology) *Plan {
	t.Helper()
	p, err := New(algo, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Pack(top)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestJavaHash(t *testing.T) {
	for s, want := range map[string]int32{"": 0, "a": 97, "hello": 99162322, "word": 3655434, "exclaim1": 1993464296, "polygenelubricants": -2147483648} {
		if got := javaStringHash(s); got != want {
			t.Errorf("hash(%q) = %d, want %d", s, got, want)
		}
	}
	// Buckets of the spread hash in a 16-slot table: split 3, sentences 6, count 8.
	if got := javaHashOrder([]string{"sentences", "split", "count"}); !slices.Equal(got, []string{"split", "sentences", "count"}) {
		t.Errorf("order %v", got)
	}
	// exclaim2 (bucket 8) before exclaim1 (9) before word (13).
	if got := javaHashOrder([]string{"word", "exclaim1", "exclaim2"}); !slices.Equal(got, []string{"exclaim2", "exclaim1", "word"}) {
		t.Errorf("order %v", got)
	}
	// 13 keys resize the table to 32 buckets: "a".."m" are 97..109, so
	// bucket = hash & 31 puts "a" (97&31=1) ... in code order, with "`"-free wrap.
	keys := strings.Split("m l k j i h g f e d c b a", " ")
	if got := javaHashOrder(keys); got[0] != "a" || got[12] != "m" {
		t.Errorf("resized order %v", got)
	}
}

// The reference's round-robin example: A(p=2), B(p=3) in 2 containers, A
// sorting first, the container cycle not reset between components.
func TestRoundRobinReferenceExample(t *testing.T) {
	plan := mustPack(t, "roundrobin", topo([]string{"A:2", "B:3"}, "topology.stmgrs=2"))
	if got, want := layout(plan), "c1: A#1(0) B#3(0) B#5(2); c2: A#2(1) B#4(1)"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// The reference's default sizes: 2 containers of 2 instances, each instance
// 1 CPU and 1 GiB, each container 3 CPU, 4 GiB RAM, 14 GiB disk.
func TestRoundRobinDefaultResources(t *testing.T) {
	plan := mustPack(t, "roundrobin", topo([]string{"A:2", "B:2"}, "topology.stmgrs=2"))
	for _, c := range plan.Containers {
		for _, i := range c.Instances {
			if i.Resource != (Resource{1, gib, gib}) {
				t.Errorf("instance %v", i)
			}
		}
		if c.Required != (Resource{3, 4 * gib, 14 * gib}) {
			t.Errorf("container %d: %+v", c.ID, c.Required)
		}
	}
}

// Heron's HashMap order decides task ids when RAM requests tie: the word
// count's components go split, sentences, count.
func TestRoundRobinHashMapOrder(t *testing.T) {
	plan := mustPack(t, "roundrobin", topo([]string{"sentences:2", "split:2", "count:2"}, "topology.stmgrs=2"))
	want := "c1: split#1(0) sentences#3(0) count#5(0); c2: split#2(1) sentences#4(1) count#6(1)"
	if got := layout(plan); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A RAM request sorts first.
	plan = mustPack(t, "roundrobin", topo([]string{"sentences:2", "split:2", "count:2"}, "topology.stmgrs=2", "topology.component.rammap=count:2147483648"))
	if got := layout(plan); !strings.HasPrefix(got, "c1: count#1(0)") {
		t.Fatalf("rammap order: %s", got)
	}
}

func TestRoundRobinRAMMapAndHints(t *testing.T) {
	// count asks 2 GiB; the others share the rest: default container RAM is
	// 1 GiB × 3 (largest container) + 2 GiB padding = 5 GiB; minus padding
	// and count's 2 GiB leaves 1 GiB for two instances: 512 MiB each.
	plan := mustPack(t, "roundrobin", topo([]string{"s:2", "b:2", "count:2"}, "topology.stmgrs=2", "topology.component.rammap=count:2147483648"))
	c := plan.Containers[0]
	rams := map[string]int64{}
	for _, i := range c.Instances {
		rams[i.Component] = i.Resource.RAM
	}
	if rams["count"] != 2*gib || rams["s"] != gib/2 || rams["b"] != gib/2 {
		t.Errorf("rams %v", rams)
	}
	if c.Required.RAM != 3*gib+2*gib {
		t.Errorf("container RAM %d", c.Required.RAM)
	}
	// A container RAM hint caps the container and shares the rest.
	plan = mustPack(t, "roundrobin", topo([]string{"s:2", "b:2"}, "topology.stmgrs=2", "topology.container.ram=4294967296", "topology.container.cpu=5"))
	if c := plan.Containers[0]; c.Required.RAM != 4*gib || c.Required.CPU != 5 || c.Instances[0].Resource.RAM != gib || c.Instances[0].Resource.CPU != 2 {
		t.Errorf("hinted container %+v", c)
	}
	// EFFECTIVELY_ONCE adds the checkpoint manager's 1 GiB to the padding.
	plan = mustPack(t, "roundrobin", topo([]string{"s:1"}, "topology.reliability.mode=EFFECTIVELY_ONCE"))
	if c := plan.Containers[0]; c.Required.RAM != gib+3*gib {
		t.Errorf("stateful padding %+v", c.Required)
	}
}

func TestRoundRobinErrors(t *testing.T) {
	rr, _ := New("roundrobin", DefaultOptions())
	for name, tc := range map[string]struct {
		top  *apipb.Topology
		want string
	}{
		"too many containers": {topo([]string{"s:1"}, "topology.stmgrs=2"), "more containers (2) than instances (1)"},
		"zero containers":     {topo([]string{"s:1"}, "topology.stmgrs=0"), "invalid number of containers: 0"},
		"bad stmgrs":          {topo([]string{"s:1"}, "topology.stmgrs=two"), "not a whole number"},
		"unknown in rammap":   {topo([]string{"s:1"}, "topology.component.rammap=x:1"), "names component \"x\""},
		"malformed rammap":    {topo([]string{"s:1"}, "topology.component.rammap=s"), "malformed"},
		"ram over hint":       {topo([]string{"s:1"}, "topology.component.rammap=s:3000000000", "topology.container.ram=2000000000"), "exceeds topology.container.ram"},
		"tiny instances":      {topo([]string{"s:1", "b:1"}, "topology.component.rammap=s:100", "topology.container.ram=2147483748", "topology.container.ram.padding=2147483648"), "not enough RAM"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := rr.Pack(tc.top)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if exitcode.Code(err) != exitcode.DataErr {
				t.Errorf("code %d", exitcode.Code(err))
			}
		})
	}
}

func TestRoundRobinRepack(t *testing.T) {
	top := topo([]string{"A:2", "B:2"}, "topology.stmgrs=2")
	rr, _ := New("roundrobin", DefaultOptions())
	cur, _ := rr.Pack(top)
	// 2 instances per container initially; B +2 → 6 instances → 3 containers.
	next, err := rr.Repack(top, cur, 0, map[string]int{"B": 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layout(next), "c1: A#1(0) B#4(1); c2: A#2(1) B#5(2); c3: B#3(0) B#6(3)"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Asking for a container count packs into exactly that many.
	next, err = rr.Repack(top, cur, 1, map[string]int{"A": -1})
	if err != nil || len(next.Containers) != 1 || next.ComponentCounts()["A"] != 1 {
		t.Fatalf("%v %v", layout(next), err)
	}
	if _, err := rr.Repack(top, cur, 0, map[string]int{"C": 1}); exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("unknown component: %v", err)
	}
	if _, err := rr.Repack(top, cur, 0, map[string]int{"A": -2}); err == nil {
		t.Fatal("parallelism 0 accepted")
	}
}

// The reference's FFD default: 9 instances per container (9 cores + 1
// padding = the 10-core capacity).
func TestFFDDefaults(t *testing.T) {
	plan := mustPack(t, "ffd", topo([]string{"A:20"}))
	var sizes []int
	for _, c := range plan.Containers {
		sizes = append(sizes, len(c.Instances))
	}
	if !slices.Equal(sizes, []int{9, 9, 2}) {
		t.Fatalf("sizes %v: %s", sizes, layout(plan))
	}
	if c := plan.Containers[0]; c.Required != (Resource{10, 10 * gib, 10 * gib}) {
		t.Errorf("container %+v", c.Required)
	}
	if c := plan.Containers[2]; c.Required != (Resource{3, 3 * gib, 3 * gib}) {
		t.Errorf("container %+v", c.Required)
	}
	if p := plan.Containers[1].Instances[0]; p.TaskID != 10 || p.ComponentIndex != 9 {
		t.Errorf("ids %+v", p)
	}
}

func TestFFDSortsByRAMThenPlacesFirstFit(t *testing.T) {
	// big asks 4 GiB: sorted first; two bigs, one small and 1 GiB padding
	// fill a 10 GiB container.
	plan := mustPack(t, "ffd", topo([]string{"small:3", "big:3"}, "topology.component.rammap=big:4294967296"))
	want := "c1: big#1(0) big#2(1) small#4(0); c2: big#3(2) small#5(1) small#6(2)"
	if got := layout(plan); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// CPU_FIRST with a CPU request sorts by CPU.
	plan = mustPack(t, "ffd", topo([]string{"small:1", "big:1"}, "topology.component.cpumap=small:4", "topology.packing.ffd.sorting.strategy=cpu_first"))
	if got := layout(plan); !strings.HasPrefix(got, "c1: small#1(0)") {
		t.Fatalf("cpu first: %s", got)
	}
}

func TestFFDErrorsAndRepack(t *testing.T) {
	ffd, _ := New("ffd", DefaultOptions())
	if _, err := ffd.Pack(topo([]string{"s:1"}, "topology.component.rammap=s:1000")); err == nil || !strings.Contains(err.Error(), "at least 192 MB") {
		t.Fatalf("min ram: %v", err)
	}
	if _, err := ffd.Pack(topo([]string{"s:1"}, "topology.component.rammap=s:20000000000")); err == nil || !strings.Contains(err.Error(), "does not fit in an empty container") {
		t.Fatalf("too big: %v", err)
	}
	top := topo([]string{"A:9", "B:4"})
	cur, _ := ffd.Pack(top)
	if got := layout(cur); got != "c1: A#1(0) A#2(1) A#3(2) A#4(3) A#5(4) A#6(5) A#7(6) A#8(7) A#9(8); c2: B#10(0) B#11(1) B#12(2) B#13(3)" {
		t.Fatalf("initial %s", got)
	}
	// Scale B down by 2 (highest indexes go, from the all-B container) and A
	// up by 1 (into container 2: container 1 is full). Task id 12 is free
	// again because it was the highest.
	next, err := ffd.Repack(top, cur, 0, map[string]int{"B": -2, "A": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layout(next), "c1: A#1(0) A#2(1) A#3(2) A#4(3) A#5(4) A#6(5) A#7(6) A#8(7) A#9(8); c2: B#10(0) B#11(1) A#12(9)"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := ffd.Repack(top, cur, 5, nil); err == nil {
		t.Fatal("container count change accepted")
	}
}

func TestProtoRoundTrip(t *testing.T) {
	plan := mustPack(t, "roundrobin", topo([]string{"sentences:2", "split:2", "count:2"}, "topology.stmgrs=2"))
	m := plan.Proto()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back := &systempb.PackingPlan{}
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	got := FromProto(back)
	if layout(got) != layout(plan) || got.ID != "T-id" || got.Containers[0].Required != plan.Containers[0].Required {
		t.Fatalf("round trip %s", layout(got))
	}
	if m.ContainerPlans[0].GetInstancePlans()[0].GetTaskId() != 1 {
		t.Error("instances not by task id")
	}
	if got := plan.ComponentRAMMap(); got != "split:1073741824,sentences:1073741824,count:1073741824" {
		t.Errorf("ram map %q", got)
	}
	h := plan.Homogeneous()
	if h.Containers[1].Scheduled == nil || *h.Containers[1].Scheduled != plan.MaxContainerResource() || plan.Containers[0].Scheduled != nil {
		t.Error("homogeneous")
	}
	if id := plan.Containers[0].Instances[0].ID(1); id != "container_1_split_1" {
		t.Error(id)
	}
}
