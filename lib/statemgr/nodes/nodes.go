// Package nodes gives the state manager's raw bytes their Heron message types:
// which proto2 message each subtree holds, strict decoding (required fields
// checked, as Heron's C++ readers do), encoding in field-number order, and the
// JSON form used on the command line.
package nodes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/ckptmgrpb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
)

// ErrCorrupt marks bytes that do not parse as the node's message.
var ErrCorrupt = exitcode.New(exitcode.DataErr, "corrupt state node")

// names maps the command-line names of node kinds (the ones Heron's Python
// state manager methods use) to subtrees.
var names = map[string]statemgr.Kind{
	"topology":             statemgr.Topologies,
	"packingplan":          statemgr.PackingPlans,
	"executionstate":       statemgr.ExecutionState,
	"schedulerlocation":    statemgr.Schedulers,
	"tmanagerlocation":     statemgr.TManagers,
	"pplan":                statemgr.PhysicalPlans,
	"metricscachelocation": statemgr.MetricsCaches,
	"statefulcheckpoints":  statemgr.StatefulCheckpoints,
}

// aliases are accepted too: subtree names and a few spellings users reach for.
var aliases = map[string]string{
	"topologies": "topology", "packingplans": "packingplan", "physicalplan": "pplan",
	"pplans": "pplan", "schedulers": "schedulerlocation", "tmanagers": "tmanagerlocation",
	"tmasterlocation": "tmanagerlocation", "metricscaches": "metricscachelocation",
	"scheduler": "schedulerlocation", "tmanager": "tmanagerlocation",
}

// Names lists the canonical kind names, sorted.
func Names() []string {
	n := make([]string, 0, len(names))
	for k := range names {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// KindOf resolves a command-line kind name.
func KindOf(name string) (statemgr.Kind, error) {
	n := strings.ToLower(name)
	if a, ok := aliases[n]; ok {
		n = a
	}
	if k, ok := names[n]; ok {
		return k, nil
	}
	return "", fmt.Errorf("unknown node kind %q (use one of %s)", name, strings.Join(Names(), ", "))
}

// NameOf is the canonical command-line name of a subtree.
func NameOf(kind statemgr.Kind) string {
	for n, k := range names {
		if k == kind {
			return n
		}
	}
	return string(kind)
}

// New returns an empty message of the type stored under kind.
func New(kind statemgr.Kind) (proto.Message, error) {
	switch kind {
	case statemgr.Topologies:
		return &apipb.Topology{}, nil
	case statemgr.PackingPlans:
		return &systempb.PackingPlan{}, nil
	case statemgr.ExecutionState:
		return &systempb.ExecutionState{}, nil
	case statemgr.Schedulers:
		return &schedulerpb.SchedulerLocation{}, nil
	case statemgr.TManagers:
		return &tmanagerpb.TManagerLocation{}, nil
	case statemgr.PhysicalPlans:
		return &systempb.PhysicalPlan{}, nil
	case statemgr.MetricsCaches:
		return &tmanagerpb.MetricsCacheLocation{}, nil
	case statemgr.StatefulCheckpoints:
		return &ckptmgrpb.StatefulConsistentCheckpoints{}, nil
	}
	return nil, fmt.Errorf("subtree %q holds no protobuf message", kind)
}

// Decode parses a node's bytes strictly: every required field must be set.
func Decode(kind statemgr.Kind, data []byte) (proto.Message, error) {
	m, err := New(kind)
	if err != nil {
		return nil, err
	}
	if err := Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return m, nil
}

// Unmarshal parses bytes into m, requiring every required field.
func Unmarshal(data []byte, m proto.Message) error {
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// Marshal encodes m in field-number order, refusing a message with a missing
// required field (Heron's readers would reject it).
func Marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

var jsonOut = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false}

// ToJSON renders a message as JSON with Heron's field names (snake_case, and
// Heron's own camelCase where the .proto has it).
// protojson varies its whitespace on purpose; compacting makes output stable.
func ToJSON(m proto.Message) ([]byte, error) {
	b, err := jsonOut.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FromJSON parses JSON into the message stored under kind and checks that
// every required field is present.
func FromJSON(kind statemgr.Kind, data []byte) (proto.Message, error) {
	m, err := New(kind)
	if err != nil {
		return nil, err
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("invalid %s JSON: %v", NameOf(kind), err)
	}
	return m, nil
}

// Client reads and writes typed nodes through a byte store.
type Client struct{ statemgr.Store }

// Get reads and decodes one node.
func (c Client) Get(ctx context.Context, kind statemgr.Kind, topology string, m proto.Message) error {
	b, err := c.Store.Get(ctx, kind, topology)
	if err != nil {
		return err
	}
	if err := Unmarshal(b, m); err != nil {
		return fmt.Errorf("%s/%s: %w", kind, topology, err)
	}
	return nil
}

// Set encodes and writes (creates or overwrites) one node.
func (c Client) Set(ctx context.Context, kind statemgr.Kind, topology string, m proto.Message) error {
	b, err := Marshal(m)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", kind, topology, err)
	}
	return c.Store.Set(ctx, kind, topology, b)
}

// Create encodes and writes a new node; it fails with statemgr.ErrExists.
func (c Client) Create(ctx context.Context, kind statemgr.Kind, topology string, m proto.Message, opts statemgr.CreateOptions) error {
	b, err := Marshal(m)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", kind, topology, err)
	}
	return c.Store.Create(ctx, kind, topology, b, opts)
}

// Topology reads topologies/<name>.
func (c Client) Topology(ctx context.Context, name string) (*apipb.Topology, error) {
	m := &apipb.Topology{}
	return m, c.Get(ctx, statemgr.Topologies, name, m)
}

// PackingPlan reads packingplans/<name>.
func (c Client) PackingPlan(ctx context.Context, name string) (*systempb.PackingPlan, error) {
	m := &systempb.PackingPlan{}
	return m, c.Get(ctx, statemgr.PackingPlans, name, m)
}

// PhysicalPlan reads pplans/<name>.
func (c Client) PhysicalPlan(ctx context.Context, name string) (*systempb.PhysicalPlan, error) {
	m := &systempb.PhysicalPlan{}
	return m, c.Get(ctx, statemgr.PhysicalPlans, name, m)
}

// ExecutionState reads executionstate/<name>.
func (c Client) ExecutionState(ctx context.Context, name string) (*systempb.ExecutionState, error) {
	m := &systempb.ExecutionState{}
	return m, c.Get(ctx, statemgr.ExecutionState, name, m)
}

// TManagerLocation reads tmanagers/<name>.
func (c Client) TManagerLocation(ctx context.Context, name string) (*tmanagerpb.TManagerLocation, error) {
	m := &tmanagerpb.TManagerLocation{}
	return m, c.Get(ctx, statemgr.TManagers, name, m)
}

// SchedulerLocation reads schedulers/<name>.
func (c Client) SchedulerLocation(ctx context.Context, name string) (*schedulerpb.SchedulerLocation, error) {
	m := &schedulerpb.SchedulerLocation{}
	return m, c.Get(ctx, statemgr.Schedulers, name, m)
}
