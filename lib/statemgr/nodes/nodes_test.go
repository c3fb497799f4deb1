package nodes

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
)

// The fixtures under testdata/heron-state were written by Heron 0.20.5's own
// Python protobuf classes.
const fixtureTopology = "ExclamationTopology"
const fixtureID = "ExclamationTopology-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

func fixture(t *testing.T, kind statemgr.Kind) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "heron-state", "local", string(kind), fixtureTopology))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFixture[T proto.Message](t *testing.T, kind statemgr.Kind) T {
	t.Helper()
	m, err := Decode(kind, fixture(t, kind))
	if err != nil {
		t.Fatalf("decode %s: %v", kind, err)
	}
	return m.(T)
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func checkLogicalPlan(t *testing.T, tp *apipb.Topology) {
	t.Helper()
	eq(t, "id", tp.GetId(), fixtureID)
	eq(t, "name", tp.GetName(), fixtureTopology)
	eq(t, "state", tp.GetState(), apipb.TopologyState_RUNNING)
	if len(tp.GetSpouts()) != 1 || len(tp.GetBolts()) != 2 {
		t.Fatalf("spouts=%d bolts=%d, want 1 and 2", len(tp.GetSpouts()), len(tp.GetBolts()))
	}
	sp := tp.GetSpouts()[0]
	eq(t, "spout name", sp.GetComp().GetName(), "word")
	eq(t, "spout class", sp.GetComp().GetClassName(), "org.apache.heron.examples.api.spout.TestWordSpout")
	eq(t, "spout spec", sp.GetComp().GetSpec(), apipb.ComponentObjectSpec_JAVA_CLASS_NAME)
	kvs := sp.GetComp().GetConfig().GetKvs()
	eq(t, "spout kvs", len(kvs), 5)
	eq(t, "spout kv0", kvs[0].GetKey()+"="+kvs[0].GetValue(), "topology.component.parallelism=2")
	eq(t, "spout kv2", kvs[2].GetKey()+"="+kvs[2].GetValue(), "spout.source=words-topic")
	eq(t, "spout out stream", sp.GetOutputs()[0].GetStream().GetId(), "default")
	eq(t, "spout out component", sp.GetOutputs()[0].GetStream().GetComponentName(), "word")
	eq(t, "spout schema key", sp.GetOutputs()[0].GetSchema().GetKeys()[0].GetKey(), "word")
	eq(t, "spout schema type", sp.GetOutputs()[0].GetSchema().GetKeys()[0].GetType(), apipb.Type_OBJECT)

	b1, b2 := tp.GetBolts()[0], tp.GetBolts()[1]
	eq(t, "bolt1", b1.GetComp().GetName(), "exclaim1")
	eq(t, "bolt1 input", b1.GetInputs()[0].GetStream().GetComponentName(), "word")
	eq(t, "bolt1 grouping", b1.GetInputs()[0].GetGtype(), apipb.Grouping_SHUFFLE)
	eq(t, "bolt2", b2.GetComp().GetName(), "exclaim2")
	eq(t, "bolt2 grouping", b2.GetInputs()[0].GetGtype(), apipb.Grouping_FIELDS)
	eq(t, "bolt2 grouping field", b2.GetInputs()[0].GetGroupingFields().GetKeys()[0].GetKey(), "word")
	eq(t, "bolt2 output", b2.GetOutputs()[0].GetStream().GetComponentName(), "exclaim2")

	cfg := tp.GetTopologyConfig().GetKvs()
	eq(t, "topology config size", len(cfg), 9)
	eq(t, "workers", cfg[0].GetKey()+"="+cfg[0].GetValue(), "topology.workers=2")
	eq(t, "java int type", cfg[4].GetType(), apipb.ConfigValueType_JAVA_SERIALIZED_VALUE)
	eq(t, "java int has no string value", cfg[4].Value == nil, true)
	eq(t, "java int bytes", len(cfg[4].GetSerializedValue()), 81)
	eq(t, "python blob type", cfg[8].GetType(), apipb.ConfigValueType_PYTHON_SERIALIZED_VALUE)
	eq(t, "python blob", string(cfg[8].GetSerializedValue()), "\x80\x04K*.")
}

func TestHeronFixtureTopology(t *testing.T) {
	checkLogicalPlan(t, decodeFixture[*apipb.Topology](t, statemgr.Topologies))
}

func TestHeronFixturePhysicalPlan(t *testing.T) {
	pp := decodeFixture[*systempb.PhysicalPlan](t, statemgr.PhysicalPlans)
	checkLogicalPlan(t, pp.GetTopology())
	if len(pp.GetStmgrs()) != 2 || len(pp.GetInstances()) != 6 {
		t.Fatalf("stmgrs=%d instances=%d", len(pp.GetStmgrs()), len(pp.GetInstances()))
	}
	s := pp.GetStmgrs()[1]
	eq(t, "stmgr id", s.GetId(), "stmgr-2")
	eq(t, "host", s.GetHostName(), "127.0.0.1")
	eq(t, "data port", s.GetDataPort(), int32(6002))
	eq(t, "local endpoint", s.GetLocalEndpoint(), "/unused")
	eq(t, "cwd", s.GetCwd(), "/srv/heron/ExclamationTopology/container-2")
	eq(t, "pid", s.GetPid(), int32(1002))
	eq(t, "shell port", s.GetShellPort(), int32(7002))
	eq(t, "local data port", s.GetLocalDataPort(), int32(6102))
	in := pp.GetInstances()[3]
	eq(t, "instance id", in.GetInstanceId(), "container_2_exclaim1_4")
	eq(t, "instance stmgr", in.GetStmgrId(), "stmgr-2")
	eq(t, "task id", in.GetInfo().GetTaskId(), int32(4))
	eq(t, "component index", in.GetInfo().GetComponentIndex(), int32(1))
	eq(t, "component", in.GetInfo().GetComponentName(), "exclaim1")
	eq(t, "params", len(in.GetInfo().GetParams()), 0)
}

func TestHeronFixturePackingPlan(t *testing.T) {
	p := decodeFixture[*systempb.PackingPlan](t, statemgr.PackingPlans)
	eq(t, "id", p.GetId(), fixtureID)
	eq(t, "containers", len(p.GetContainerPlans()), 2)
	c := p.GetContainerPlans()[0]
	eq(t, "container id", c.GetId(), int32(1))
	eq(t, "instances", len(c.GetInstancePlans()), 3)
	ip := c.GetInstancePlans()[1]
	eq(t, "instance component", ip.GetComponentName(), "exclaim1")
	eq(t, "instance task", ip.GetTaskId(), int32(3))
	eq(t, "instance index", ip.GetComponentIndex(), int32(0))
	eq(t, "instance cpu", ip.GetResource().GetCpu(), 1.0)
	eq(t, "instance ram", ip.GetResource().GetRam(), int64(512<<20))
	eq(t, "instance disk", ip.GetResource().GetDisk(), int64(1<<30))
	eq(t, "required cpu", c.GetRequiredResource().GetCpu(), 6.0)
	eq(t, "required ram", c.GetRequiredResource().GetRam(), int64(3<<30))
	eq(t, "required disk", c.GetRequiredResource().GetDisk(), int64(4<<30))
	eq(t, "scheduled cpu", c.GetScheduledResource().GetCpu(), 8.0)
	eq(t, "scheduled ram", c.GetScheduledResource().GetRam(), int64(4<<30))
	eq(t, "scheduled disk", c.GetScheduledResource().GetDisk(), int64(8<<30))
}

func TestHeronFixtureExecutionState(t *testing.T) {
	e := decodeFixture[*systempb.ExecutionState](t, statemgr.ExecutionState)
	eq(t, "name", e.GetTopologyName(), fixtureTopology)
	eq(t, "id", e.GetTopologyId(), fixtureID)
	eq(t, "submission time", e.GetSubmissionTime(), int64(1700000000))
	eq(t, "user", e.GetSubmissionUser(), "heron-user")
	eq(t, "cluster", e.GetCluster(), "local")
	eq(t, "environ", e.GetEnviron(), "default")
	eq(t, "role", e.GetRole(), "heron-user")
	eq(t, "release user", e.GetReleaseState().GetReleaseUsername(), "heron-builder")
	eq(t, "release tag", e.GetReleaseState().GetReleaseTag(), "0.20.5")
	eq(t, "release version", e.GetReleaseState().GetReleaseVersion(), "0.20.5-incubating")
}

func TestHeronFixtureLocations(t *testing.T) {
	tm := decodeFixture[*tmanagerpb.TManagerLocation](t, statemgr.TManagers)
	eq(t, "tmanager topology", tm.GetTopologyName(), fixtureTopology)
	eq(t, "tmanager id", tm.GetTopologyId(), fixtureID)
	eq(t, "tmanager host", tm.GetHost(), "127.0.0.1")
	eq(t, "controller port", tm.GetControllerPort(), int32(6010))
	eq(t, "server port", tm.GetServerPort(), int32(6011))
	eq(t, "stats port", tm.GetStatsPort(), int32(6012))
	sl := decodeFixture[*schedulerpb.SchedulerLocation](t, statemgr.Schedulers)
	eq(t, "scheduler topology", sl.GetTopologyName(), fixtureTopology)
	eq(t, "endpoint", sl.GetHttpEndpoint(), "127.0.0.1:6020")
	eq(t, "job page", sl.GetJobPageLink()[0], "http://127.0.0.1:6020/jobs/ExclamationTopology")
}

// Our writer must produce the same bytes Heron's writers do for the same
// content: fields in number order, nothing extra.
func TestHeronFixtureReencodeIsByteIdentical(t *testing.T) {
	for _, k := range []statemgr.Kind{statemgr.Topologies, statemgr.PhysicalPlans, statemgr.PackingPlans,
		statemgr.ExecutionState, statemgr.TManagers, statemgr.Schedulers} {
		in := fixture(t, k)
		m, err := Decode(k, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, out) {
			t.Errorf("%s: re-encoded bytes differ from Heron's (%d vs %d bytes)", k, len(out), len(in))
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, k := range []statemgr.Kind{statemgr.Topologies, statemgr.PhysicalPlans, statemgr.PackingPlans,
		statemgr.ExecutionState, statemgr.TManagers, statemgr.Schedulers} {
		m, _ := Decode(k, fixture(t, k))
		j, err := ToJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromJSON(k, j)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		b, err := Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, fixture(t, k)) {
			t.Errorf("%s: JSON round trip changed the bytes", k)
		}
	}
}

func TestMissingRequiredFieldIsRefused(t *testing.T) {
	if _, err := Marshal(&tmanagerpb.TManagerLocation{TopologyName: proto.String("t")}); err == nil {
		t.Fatal("marshal accepted a TManagerLocation without its required fields")
	}
	if _, err := Decode(statemgr.TManagers, []byte{0x0a, 0x01, 't'}); err == nil {
		t.Fatal("decode accepted a TManagerLocation without its required fields")
	}
	if _, err := Decode(statemgr.PhysicalPlans, []byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("decode accepted garbage")
	}
}

func TestKindNames(t *testing.T) {
	for name, want := range map[string]statemgr.Kind{"topology": statemgr.Topologies, "pplan": statemgr.PhysicalPlans,
		"physicalplan": statemgr.PhysicalPlans, "TManagerLocation": statemgr.TManagers, "schedulers": statemgr.Schedulers} {
		got, err := KindOf(name)
		if err != nil || got != want {
			t.Errorf("KindOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := KindOf("bogus"); err == nil {
		t.Error("KindOf accepted bogus")
	}
}

// FuzzDecode feeds arbitrary bytes, as a corrupt or hostile state node would.
func FuzzDecode(f *testing.F) {
	for _, k := range []statemgr.Kind{statemgr.Topologies, statemgr.PhysicalPlans, statemgr.PackingPlans} {
		b, _ := os.ReadFile(filepath.Join("testdata", "heron-state", "local", string(k), fixtureTopology))
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range statemgr.Kinds {
			if k == statemgr.Locks {
				continue
			}
			m, err := Decode(k, data)
			if err != nil {
				continue
			}
			if _, err := Marshal(m); err != nil {
				t.Fatalf("%s: decoded but cannot re-encode: %v", k, err)
			}
			// proto2 strings may hold invalid UTF-8 that JSON cannot carry:
			// an error is fine there, a panic is not.
			_, _ = ToJSON(m)
		}
	})
}
