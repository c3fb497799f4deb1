// Package stmgr is the stream-manager role of heron-executor's native runtime:
// it moves tuples between the instance processes of one container and the
// stream managers of the other containers, choosing destinations by grouping,
// batching lines, applying back pressure, and tracking tuple trees for
// at-least-once delivery.
//
// A tuple is one line. Raw-mode components read and write plain lines;
// JSON-mode components speak the envelope of docs/json-protocol.md. Lines
// travel in batches (one batch: one source task, one stream, one destination
// task) so that the hot path costs one append per tuple and one queue
// operation per batch.
package stmgr

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// Plan is the routing view of a topology and its packing plan: every task,
// which container holds it, and who subscribes to which stream.
type Plan struct {
	Topology   *apipb.Topology
	Components []*Component
	byName     map[string]*Component
	// Tasks is every task in task-id order; a task's Slot is its index here.
	Tasks   []*Task
	byID    map[int32]*Task
	Streams []*Stream
	// Containers lists the container ids that hold instances, sorted.
	Containers []int32
	// AtLeastOnce is true when topology.reliability.mode is ATLEAST_ONCE.
	AtLeastOnce bool
	// MessageTimeoutSecs is topology.message.timeout.secs (default 30).
	MessageTimeoutSecs int
	// MaxSpoutPending is topology.max.spout.pending (0: no limit).
	MaxSpoutPending int
}

// Component is a spout or bolt with its native command.
type Component struct {
	Name    string
	Spout   bool
	Mode    string // native.ModeRaw or native.ModeJSON
	Command string
	Config  map[string]string
	Tasks   []*Task // sorted by task id
	Outputs []*Stream
	outByID map[string]*Stream
	// Inputs are the streams this bolt subscribes to; an input's index is
	// its position here (execute counters are kept per input).
	Inputs  []*Input
	inByKey map[*Stream]int
}

// Input is one subscription of a bolt.
type Input struct {
	Stream   *Stream
	Grouping apipb.Grouping
}

// Task is one instance of a component.
type Task struct {
	ID         int32
	Index      int32 // component index
	Container  int32
	Component  *Component
	InstanceID string // container_<c>_<component>_<task>
	Slot       int
}

// Stream is an output stream of a component and its subscribers.
type Stream struct {
	Component *Component
	ID        string
	Fields    []string
	Subs      []*Sub
	// Index is the stream's position in Plan.Streams; Local its position
	// among the component's outputs.
	Index int
	Local int
}

// Sub is one bolt's subscription to a stream, resolved to task slots.
type Sub struct {
	Target   *Component
	Grouping apipb.Grouping
	// FieldIdx are the indexes of the grouping fields in the stream schema.
	FieldIdx []int
	// Slots are the target tasks' slots, in task-id order (so Slots[0] is
	// the lowest task, Heron's LOWEST/global grouping).
	Slots []int
	input int // index in Target.Inputs
}

// InstanceID is Heron's instance id.
func InstanceID(container int32, component string, task int32) string {
	return "container_" + strconv.Itoa(int(container)) + "_" + component + "_" + strconv.Itoa(int(task))
}

// ConfigValue returns a string config value from a Heron Config.
func ConfigValue(c *apipb.Config, key string) (string, bool) {
	if c == nil {
		return "", false
	}
	for _, kv := range c.GetKvs() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// NewPlan builds the routing view. Every component must be native (carry a
// heron.native.command), every grouping must be one the native runtime
// supports, and the packing plan must place every task exactly once.
func NewPlan(topo *apipb.Topology, pack *systempb.PackingPlan) (*Plan, error) {
	p := &Plan{Topology: topo, byName: map[string]*Component{}, byID: map[int32]*Task{}, MessageTimeoutSecs: 30}
	tc := topo.GetTopologyConfig()
	if v, ok := ConfigValue(tc, native.KeyReliabilityMode); ok {
		switch v {
		case "ATLEAST_ONCE":
			p.AtLeastOnce = true
		case "ATMOST_ONCE", "":
		case "EFFECTIVELY_ONCE":
			return nil, fmt.Errorf("topology %s: reliability mode EFFECTIVELY_ONCE needs Heron's stateful runtime; use ATLEAST_ONCE or ATMOST_ONCE", topo.GetName())
		default:
			return nil, fmt.Errorf("topology %s: unknown %s %q (use ATMOST_ONCE or ATLEAST_ONCE)", topo.GetName(), native.KeyReliabilityMode, v)
		}
	} else if v, ok := ConfigValue(tc, "topology.enable.acking"); ok && v == "true" {
		p.AtLeastOnce = true
	}
	if v, ok := ConfigValue(tc, native.KeyMessageTimeout); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("topology %s: %s=%q is not a positive number of seconds", topo.GetName(), native.KeyMessageTimeout, v)
		}
		p.MessageTimeoutSecs = n
	}
	if v, ok := ConfigValue(tc, native.KeyMaxSpoutPending); ok && v != "" && v != "null" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("topology %s: %s=%q is not a count", topo.GetName(), native.KeyMaxSpoutPending, v)
		}
		p.MaxSpoutPending = n
	}

	add := func(comp *apipb.Component, spout bool, outs []*apipb.OutputStream) error {
		name := comp.GetName()
		if _, dup := p.byName[name]; dup {
			return fmt.Errorf("topology %s: component %q is defined twice", topo.GetName(), name)
		}
		c := &Component{Name: name, Spout: spout, Config: map[string]string{}, outByID: map[string]*Stream{}, inByKey: map[*Stream]int{}}
		for _, kv := range comp.GetConfig().GetKvs() {
			c.Config[kv.GetKey()] = kv.GetValue()
		}
		c.Command = c.Config[native.KeyCommand]
		if c.Command == "" {
			return fmt.Errorf("topology %s: component %q has no %s; it is not a native component (build the topology from a native YAML with heron-submit)", topo.GetName(), name, native.KeyCommand)
		}
		c.Mode = c.Config[native.KeyMode]
		switch c.Mode {
		case "":
			c.Mode = native.ModeRaw
		case native.ModeRaw, native.ModeJSON:
		default:
			return fmt.Errorf("topology %s: component %q: %s=%q (use raw or json)", topo.GetName(), name, native.KeyMode, c.Mode)
		}
		for _, o := range outs {
			c.addOutput(o.GetStream().GetId(), o.GetSchema())
		}
		if len(c.Outputs) == 0 {
			// Raw tuples have one field, the line; a JSON component that
			// declares nothing still has Heron's default stream.
			var schema *apipb.StreamSchema
			if c.Mode == native.ModeRaw {
				schema = &apipb.StreamSchema{Keys: []*apipb.StreamSchema_KeyType{{Key: strPtr("line")}}}
			}
			c.addOutput("default", schema)
		}
		p.byName[name] = c
		p.Components = append(p.Components, c)
		return nil
	}
	for _, s := range topo.GetSpouts() {
		if err := add(s.GetComp(), true, s.GetOutputs()); err != nil {
			return nil, err
		}
	}
	for _, b := range topo.GetBolts() {
		if err := add(b.GetComp(), false, b.GetOutputs()); err != nil {
			return nil, err
		}
	}
	for _, b := range topo.GetBolts() {
		tgt := p.byName[b.GetComp().GetName()]
		for _, in := range b.GetInputs() {
			srcName, sid := in.GetStream().GetComponentName(), in.GetStream().GetId()
			src := p.byName[srcName]
			if src == nil {
				return nil, fmt.Errorf("topology %s: bolt %q reads from unknown component %q", topo.GetName(), tgt.Name, srcName)
			}
			st := src.outByID[sid]
			if st == nil {
				// Undeclared stream: accept it with no schema, as Heron's
				// runtime does not check either.
				st = src.addOutput(sid, nil)
			}
			sub := &Sub{Target: tgt, Grouping: in.GetGtype()}
			switch sub.Grouping {
			case apipb.Grouping_SHUFFLE, apipb.Grouping_NONE, apipb.Grouping_ALL, apipb.Grouping_LOWEST:
			case apipb.Grouping_DIRECT:
				if src.Mode == native.ModeRaw {
					return nil, fmt.Errorf("topology %s: %s reads %s/%s with direct grouping, but a raw-mode component cannot name a task; use json mode for %s", topo.GetName(), tgt.Name, srcName, sid, srcName)
				}
			case apipb.Grouping_FIELDS:
				for _, k := range in.GetGroupingFields().GetKeys() {
					idx := -1
					for i, f := range st.Fields {
						if f == k.GetKey() {
							idx = i
						}
					}
					if idx < 0 {
						if src.Mode == native.ModeRaw {
							idx = 0 // raw tuples have one field: the whole line
						} else {
							return nil, fmt.Errorf("topology %s: %s groups %s/%s by field %q, which the stream does not declare", topo.GetName(), tgt.Name, srcName, sid, k.GetKey())
						}
					}
					sub.FieldIdx = append(sub.FieldIdx, idx)
				}
				if len(sub.FieldIdx) == 0 {
					return nil, fmt.Errorf("topology %s: %s reads %s/%s with fields grouping but names no fields", topo.GetName(), tgt.Name, srcName, sid)
				}
			default:
				return nil, fmt.Errorf("topology %s: %s reads %s/%s with grouping %s, which the native runtime does not support (use shuffle, fields, all, global, none or direct)", topo.GetName(), tgt.Name, srcName, sid, sub.Grouping)
			}
			sub.input = len(tgt.Inputs)
			tgt.inByKey[st] = len(tgt.Inputs)
			tgt.Inputs = append(tgt.Inputs, &Input{Stream: st, Grouping: sub.Grouping})
			st.Subs = append(st.Subs, sub)
		}
	}

	containers := map[int32]bool{}
	for _, cp := range pack.GetContainerPlans() {
		for _, ip := range cp.GetInstancePlans() {
			c := p.byName[ip.GetComponentName()]
			if c == nil {
				return nil, fmt.Errorf("packing plan %s: container %d holds unknown component %q", pack.GetId(), cp.GetId(), ip.GetComponentName())
			}
			if _, dup := p.byID[ip.GetTaskId()]; dup {
				return nil, fmt.Errorf("packing plan %s: task %d is placed twice", pack.GetId(), ip.GetTaskId())
			}
			t := &Task{ID: ip.GetTaskId(), Index: ip.GetComponentIndex(), Container: cp.GetId(), Component: c,
				InstanceID: InstanceID(cp.GetId(), c.Name, ip.GetTaskId())}
			p.byID[t.ID] = t
			p.Tasks = append(p.Tasks, t)
			c.Tasks = append(c.Tasks, t)
			containers[cp.GetId()] = true
		}
	}
	sort.Slice(p.Tasks, func(i, j int) bool { return p.Tasks[i].ID < p.Tasks[j].ID })
	for i, t := range p.Tasks {
		t.Slot = i
	}
	for _, c := range p.Components {
		if len(c.Tasks) == 0 {
			return nil, fmt.Errorf("packing plan %s places no instance of %q", pack.GetId(), c.Name)
		}
		sort.Slice(c.Tasks, func(i, j int) bool { return c.Tasks[i].ID < c.Tasks[j].ID })
		for _, st := range c.Outputs {
			st.Index = len(p.Streams)
			p.Streams = append(p.Streams, st)
		}
	}
	for _, st := range p.Streams {
		for _, sub := range st.Subs {
			for _, t := range sub.Target.Tasks {
				sub.Slots = append(sub.Slots, t.Slot)
			}
		}
	}
	for id := range containers {
		p.Containers = append(p.Containers, id)
	}
	sort.Slice(p.Containers, func(i, j int) bool { return p.Containers[i] < p.Containers[j] })
	return p, nil
}

func (c *Component) addOutput(id string, schema *apipb.StreamSchema) *Stream {
	st := &Stream{Component: c, ID: id, Local: len(c.Outputs)}
	for _, k := range schema.GetKeys() {
		st.Fields = append(st.Fields, k.GetKey())
	}
	c.outByID[id] = st
	c.Outputs = append(c.Outputs, st)
	return st
}

// Output returns the component's stream by id, or nil.
func (c *Component) Output(id string) *Stream { return c.outByID[id] }

// Component returns a component by name, or nil.
func (p *Plan) Component(name string) *Component { return p.byName[name] }

// Task returns a task by id, or nil.
func (p *Plan) Task(id int32) *Task { return p.byID[id] }

// ContainerTasks returns the tasks a container holds, in packing order of
// task id.
func (p *Plan) ContainerTasks(container int32) []*Task {
	var out []*Task
	for _, t := range p.Tasks {
		if t.Container == container {
			out = append(out, t)
		}
	}
	return out
}

func strPtr(s string) *string { return &s }
