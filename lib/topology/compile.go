package topology

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Heron's topology config keys for per-component resources
// (org.apache.heron.api.Config); values are "comp:value,comp:value".
const (
	KeyRAMMap  = "topology.component.rammap"
	KeyCPUMap  = "topology.component.cpumap"
	KeyDiskMap = "topology.component.diskmap"
)

// ClassPrefix starts the class_name of native components: "native:raw".
const ClassPrefix = "native:"

// CompileOptions tune Compile.
type CompileOptions struct {
	// ID is the topology id; empty means NewID(name).
	ID string
	// State is the initial state; 0 means RUNNING (PAUSED for
	// --deploy-deactivated).
	State apipb.TopologyState
}

// NewID makes a topology id the way Heron's API does: the name followed by a
// random UUID.
func NewID(name string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s%x-%x-%x-%x-%x", name, b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Compile turns a validated definition into Heron's Topology proto. Each
// component's config carries the native command, mode and Heron's
// parallelism key as strings; resources go to Heron's topology-level
// rammap/cpumap/diskmap keys, which Heron's packing reads.
func (d *Definition) Compile(opts CompileOptions) (*apipb.Topology, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	id := opts.ID
	if id == "" {
		id = NewID(d.Name)
	}
	state := opts.State
	if state == 0 {
		state = apipb.TopologyState_RUNNING
	}
	t := &apipb.Topology{Id: proto.String(id), Name: proto.String(d.Name), State: state.Enum()}
	for _, comp := range d.Spouts {
		t.Spouts = append(t.Spouts, &apipb.Spout{Comp: comp.proto(), Outputs: comp.outputStreams()})
	}
	for _, comp := range d.Bolts {
		b := &apipb.Bolt{Comp: comp.proto(), Outputs: comp.outputStreams()}
		for _, s := range d.Streams {
			if s.To == comp.Name {
				b.Inputs = append(b.Inputs, s.input())
			}
		}
		t.Bolts = append(t.Bolts, b)
	}
	cfg := &apipb.Config{}
	for _, kv := range d.Config {
		cfg.Kvs = append(cfg.Kvs, stringKV(kv.Key, kv.Value))
	}
	var ram, cpu, disk []string
	for _, comp := range append(append([]*Component{}, d.Spouts...), d.Bolts...) {
		r := comp.Resources
		if r.RAM > 0 {
			ram = append(ram, comp.Name+":"+strconv.FormatInt(r.RAM, 10))
		}
		if r.CPU > 0 {
			cpu = append(cpu, comp.Name+":"+strconv.FormatFloat(r.CPU, 'f', -1, 64))
		}
		if r.Disk > 0 {
			disk = append(disk, comp.Name+":"+strconv.FormatInt(r.Disk, 10))
		}
	}
	for _, m := range []struct {
		key  string
		vals []string
	}{{KeyRAMMap, ram}, {KeyCPUMap, cpu}, {KeyDiskMap, disk}} {
		if len(m.vals) > 0 {
			cfg.Kvs = append(cfg.Kvs, stringKV(m.key, strings.Join(m.vals, ",")))
		}
	}
	cfg.Kvs = append(cfg.Kvs, stringKV(native.KeyNative, "true"))
	t.TopologyConfig = cfg
	return t, nil
}

func (comp *Component) proto() *apipb.Component {
	cfg := &apipb.Config{Kvs: []*apipb.Config_KeyValue{
		stringKV(native.KeyParallelism, strconv.Itoa(comp.Parallelism)),
		stringKV(native.KeyCommand, comp.Command),
		stringKV(native.KeyMode, comp.Mode),
	}}
	for _, kv := range comp.Config {
		cfg.Kvs = append(cfg.Kvs, stringKV(kv.Key, kv.Value))
	}
	return &apipb.Component{
		Name:      proto.String(comp.Name),
		ClassName: proto.String(ClassPrefix + comp.Mode),
		Config:    cfg,
	}
}

func (comp *Component) outputStreams() []*apipb.OutputStream {
	comp.defaultOutputs()
	var out []*apipb.OutputStream
	for _, o := range comp.Outputs {
		out = append(out, &apipb.OutputStream{
			Stream: &apipb.StreamId{Id: proto.String(o.Stream), ComponentName: proto.String(comp.Name)},
			Schema: schema(o.Fields),
		})
	}
	return out
}

var groupings = map[string]apipb.Grouping{
	"shuffle": apipb.Grouping_SHUFFLE,
	"fields":  apipb.Grouping_FIELDS,
	"all":     apipb.Grouping_ALL,
	"global":  apipb.Grouping_LOWEST, // Heron's global grouping goes to the lowest task id
	"none":    apipb.Grouping_NONE,
	"direct":  apipb.Grouping_DIRECT,
}

func (s *Stream) input() *apipb.InputStream {
	in := &apipb.InputStream{
		Stream: &apipb.StreamId{Id: proto.String(s.Stream), ComponentName: proto.String(s.From)},
		Gtype:  groupings[s.Grouping].Enum(),
	}
	if s.Grouping == "fields" {
		in.GroupingFields = schema(s.Fields)
	}
	return in
}

func schema(fields []string) *apipb.StreamSchema {
	sc := &apipb.StreamSchema{}
	for _, f := range fields {
		sc.Keys = append(sc.Keys, &apipb.StreamSchema_KeyType{Key: proto.String(f), Type: apipb.Type_OBJECT.Enum()})
	}
	return sc
}

func stringKV(k, v string) *apipb.Config_KeyValue {
	return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoiStrict(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) }
