package stmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
)

func kv(k, v string) *apipb.Config_KeyValue {
	return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
}

func nativeComp(name, mode string) *apipb.Component {
	return &apipb.Component{Name: proto.String(name), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{
		kv(native.KeyCommand, "true"), kv(native.KeyMode, mode)}}}
}

// pipeline: spout (task 1) -> bolt (tasks 2,3) with the given grouping, all
// in container 1.
func pipeline(t *testing.T, g apipb.Grouping, mode string) *Plan {
	t.Helper()
	in := &apipb.InputStream{Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String("s")}, Gtype: g.Enum()}
	if g == apipb.Grouping_FIELDS {
		in.GroupingFields = &apipb.StreamSchema{Keys: []*apipb.StreamSchema_KeyType{{Key: proto.String("line"), Type: apipb.Type_OBJECT.Enum()}}}
	}
	topo := &apipb.Topology{Id: proto.String("id"), Name: proto.String("t"), State: apipb.TopologyState_RUNNING.Enum(),
		Spouts: []*apipb.Spout{{Comp: nativeComp("s", mode), Outputs: []*apipb.OutputStream{{
			Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String("s")},
			Schema: &apipb.StreamSchema{Keys: []*apipb.StreamSchema_KeyType{{Key: proto.String("line"), Type: apipb.Type_OBJECT.Enum()}}}}}}},
		Bolts: []*apipb.Bolt{{Comp: nativeComp("b", native.ModeRaw), Inputs: []*apipb.InputStream{in}}}}
	res := &systempb.Resource{Cpu: proto.Float64(1), Ram: proto.Int64(1), Disk: proto.Int64(1)}
	ip := func(c string, task, idx int32) *systempb.InstancePlan {
		return &systempb.InstancePlan{ComponentName: proto.String(c), TaskId: proto.Int32(task), ComponentIndex: proto.Int32(idx), Resource: res}
	}
	pack := &systempb.PackingPlan{Id: proto.String("p"), ContainerPlans: []*systempb.ContainerPlan{{Id: proto.Int32(1),
		InstancePlans: []*systempb.InstancePlan{ip("s", 1, 0), ip("b", 2, 0), ip("b", 3, 1)}, RequiredResource: res}}}
	p, err := NewPlan(topo, pack)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuf is a bolt's stdin.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := strings.TrimSuffix(s.b.String(), "\n")
	if t == "" {
		return nil
	}
	return strings.Split(t, "\n")
}

func run(t *testing.T, p *Plan, input string) (a, b []string) {
	t.Helper()
	m, err := New(Config{Plan: p, Container: 1, TopologyID: "id", Log: zerolog.New(os.Stderr)})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	defer m.Close()
	m.SetActive(true)
	var in2, in3 syncBuf
	done := make(chan error, 3)
	r2, w2 := io.Pipe()
	r3, w3 := io.Pipe()
	go func() { done <- m.RunInstance(2, &in2, r2, nil, nil, nil) }()
	go func() { done <- m.RunInstance(3, &in3, r3, nil, nil, nil) }()
	if err := m.RunInstance(1, io.Discard, strings.NewReader(input), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := strings.Count(input, "\n")
	deadline := time.Now().Add(10 * time.Second)
	for len(in2.lines())+len(in3.lines()) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	w2.Close()
	w3.Close()
	<-done
	<-done
	return in2.lines(), in3.lines()
}

func TestShuffleDeliversEveryLineOnce(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&in, "line-%d\n", i)
	}
	a, b := run(t, pipeline(t, apipb.Grouping_SHUFFLE, native.ModeRaw), in.String())
	if len(a)+len(b) != 100000 || len(a) == 0 || len(b) == 0 {
		t.Fatalf("got %d + %d lines", len(a), len(b))
	}
	seen := map[string]bool{}
	for _, l := range append(a, b...) {
		if seen[l] {
			t.Fatalf("%s twice", l)
		}
		seen[l] = true
	}
}

func TestFieldsKeepsKeysTogetherAcrossModes(t *testing.T) {
	var raw, js strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&raw, "k%d\n", i%10)
		fmt.Fprintf(&js, "[\"k%d\"]\n", i%10)
	}
	ra, rb := run(t, pipeline(t, apipb.Grouping_FIELDS, native.ModeRaw), raw.String())
	ja, jb := run(t, pipeline(t, apipb.Grouping_FIELDS, native.ModeJSON), js.String())
	set := func(ls []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range ls {
			m[l] = true
		}
		return m
	}
	sa, sb := set(ra), set(rb)
	for k := range sa {
		if sb[k] {
			t.Fatalf("%s went to both tasks", k)
		}
	}
	// A JSON string value groups like the same raw line.
	if fmt.Sprint(set(ja)) != fmt.Sprint(sa) || fmt.Sprint(set(jb)) != fmt.Sprint(sb) {
		t.Fatalf("raw %v/%v, json %v/%v", sa, sb, set(ja), set(jb))
	}
}

func TestAllAndLowest(t *testing.T) {
	a, b := run(t, pipeline(t, apipb.Grouping_ALL, native.ModeRaw), "x\ny\n")
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("all: %v %v", a, b)
	}
	a, b = run(t, pipeline(t, apipb.Grouping_LOWEST, native.ModeRaw), "x\ny\n")
	if len(a) != 2 || len(b) != 0 {
		t.Fatalf("lowest: %v %v", a, b)
	}
}
