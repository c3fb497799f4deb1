package tracker

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// SyntheticPhysicalPlan builds a physical plan of a spout and a bolt with
// the given number of instances, two per container, for tests and load runs.
func SyntheticPhysicalPlan(name string, instances int) *systempb.PhysicalPlan {
	kv := func(k, v string) *apipb.Config_KeyValue {
		return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
	}
	stream := &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String("spout")}
	schema := &apipb.StreamSchema{Keys: []*apipb.StreamSchema_KeyType{{Key: proto.String("line"), Type: apipb.Type_OBJECT.Enum()}}}
	spouts := (instances + 1) / 2
	t := &apipb.Topology{
		Id: proto.String(name + "-id"), Name: proto.String(name), State: apipb.TopologyState_RUNNING.Enum(),
		Spouts: []*apipb.Spout{{Comp: &apipb.Component{Name: proto.String("spout"), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{
			kv("topology.component.parallelism", fmt.Sprint(spouts))}}},
			Outputs: []*apipb.OutputStream{{Stream: stream, Schema: schema}}}},
		Bolts: []*apipb.Bolt{{Comp: &apipb.Component{Name: proto.String("bolt"), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{
			kv("topology.component.parallelism", fmt.Sprint(instances-spouts))}}},
			Inputs: []*apipb.InputStream{{Stream: stream, Gtype: apipb.Grouping_SHUFFLE.Enum()}}}},
		TopologyConfig: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv("topology.message.timeout.secs", "30"), kv("topology.stmgrs", fmt.Sprint((instances+1)/2))}},
	}
	p := &systempb.PhysicalPlan{Topology: t}
	for c := 1; c <= (instances+1)/2; c++ {
		p.Stmgrs = append(p.Stmgrs, &systempb.StMgr{Id: proto.String(fmt.Sprintf("stmgr-%d", c)), HostName: proto.String("127.0.0.1"),
			DataPort: proto.Int32(int32(6000 + c)), LocalEndpoint: proto.String("/unused"), ShellPort: proto.Int32(int32(7000 + c)),
			Cwd: proto.String(fmt.Sprintf("/srv/%s/container-%d", name, c)), Pid: proto.Int32(int32(1000 + c))})
	}
	for i := 1; i <= instances; i++ {
		comp := "spout"
		idx := i - 1
		if i > spouts {
			comp, idx = "bolt", i-spouts-1
		}
		c := (i + 1) / 2
		p.Instances = append(p.Instances, &systempb.Instance{
			InstanceId: proto.String(fmt.Sprintf("container_%d_%s_%d", c, comp, i)), StmgrId: proto.String(fmt.Sprintf("stmgr-%d", c)),
			Info: &systempb.InstanceInfo{TaskId: proto.Int32(int32(i)), ComponentIndex: proto.Int32(int32(idx)), ComponentName: proto.String(comp)}})
	}
	return p
}
