package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

func TestLoadAndCompileWordCount(t *testing.T) {
	def, err := Load("testdata/wc/wordcount.yaml")
	if err != nil {
		t.Fatal(err)
	}
	top, err := def.Compile(CompileOptions{ID: "WordCount-id"})
	if err != nil {
		t.Fatal(err)
	}
	if top.GetName() != "WordCount" || top.GetId() != "WordCount-id" || top.GetState() != apipb.TopologyState_RUNNING {
		t.Fatalf("header: %v", prototext.Format(top))
	}
	if len(top.Spouts) != 1 || len(top.Bolts) != 2 {
		t.Fatalf("components: %d spouts %d bolts", len(top.Spouts), len(top.Bolts))
	}
	sp := top.Spouts[0]
	if sp.GetComp().GetClassName() != "native:raw" || sp.GetComp().Spec != nil {
		t.Errorf("spout class %q spec %v", sp.GetComp().GetClassName(), sp.GetComp().Spec)
	}
	want := map[string]string{native.KeyParallelism: "2", native.KeyCommand: "./sentences.sh", native.KeyMode: "raw"}
	for _, kv := range sp.GetComp().GetConfig().GetKvs() {
		if w, ok := want[kv.GetKey()]; ok {
			if kv.GetValue() != w || kv.GetType() != apipb.ConfigValueType_STRING_VALUE {
				t.Errorf("%s = %q (%v), want %q", kv.GetKey(), kv.GetValue(), kv.GetType(), w)
			}
			delete(want, kv.GetKey())
		}
	}
	if len(want) != 0 {
		t.Errorf("missing component keys %v", want)
	}
	if o := sp.Outputs[0]; o.GetStream().GetId() != "default" || o.GetSchema().GetKeys()[0].GetKey() != "line" ||
		o.GetSchema().GetKeys()[0].GetType() != apipb.Type_OBJECT {
		t.Errorf("spout output %v", o)
	}
	count := top.Bolts[1]
	in := count.Inputs[0]
	if in.GetGtype() != apipb.Grouping_FIELDS || in.GetStream().GetComponentName() != "split" ||
		in.GetGroupingFields().GetKeys()[0].GetKey() != "word" {
		t.Errorf("count input %v", in)
	}
	if v, _ := kvValue(count.GetComp().GetConfig(), "count.window"); v != "10" {
		t.Errorf("component config count.window = %q", v)
	}
	for k, w := range map[string]string{
		"topology.stmgrs": "2", "topology.debug": "false", native.KeyNative: "true",
		KeyRAMMap: "sentences:268435456", KeyCPUMap: "sentences:0.5",
	} {
		if v, ok := ConfigValue(top, k); !ok || v != w {
			t.Errorf("topology config %s = %q, want %q", k, v, w)
		}
	}
	if _, ok := ConfigValue(top, KeyDiskMap); ok {
		t.Error("diskmap set without disk resources")
	}
	if err := Verify(top); err != nil {
		t.Error(err)
	}
	p, _ := Parallelism(top)
	if len(p) != 3 || p[0] != (ComponentCount{"sentences", 2}) || p[2] != (ComponentCount{"count", 2}) {
		t.Errorf("parallelism %v", p)
	}
	if !IsNative(top) {
		t.Error("not native")
	}
}

func TestNewID(t *testing.T) {
	id := NewID("T")
	if !strings.HasPrefix(id, "T") || len(id) != 1+36 || NewID("T") == id {
		t.Errorf("id %q", id)
	}
}

// writeDef writes a topology next to the wordcount's command files.
func writeDef(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"sentences.sh", "count.awk"} {
		b, _ := os.ReadFile(filepath.Join("testdata/wc", f))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "noexec.sh"), []byte("echo"), 0o644)
	p := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const header = "name: T\nspouts:\n  - name: s\n    command: ./sentences.sh\n"

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // substrings, "t.yaml:LINE: field: msg"
	}{
		{"empty", "", []string{"t.yaml: the file is empty"}},
		{"not yaml", "name: [x\n", []string{"t.yaml:1: not valid YAML: did not find expected"}},
		{"not a map", "- a\n", []string{"t.yaml:1: want a map"}},
		{"no name no spouts", "bolts: []\n", []string{"t.yaml:1: name: missing", "t.yaml:1: spouts: missing"}},
		{"unknown top key", header + "sprouts: []\n", []string{"t.yaml:5: sprouts: unknown key"}},
		{"bad name", "name: a.b\nspouts:\n  - {name: s, command: ./sentences.sh}\n", []string{"t.yaml:1: name: \"a.b\" must not contain"}},
		{"parallelism 0", header + "    parallelism: 0\n", []string{"t.yaml:5: spouts[0].parallelism: must be at least 1, got 0"}},
		{"parallelism text", header + "    parallelism: two\n", []string{"t.yaml:5: spouts[0].parallelism: want a whole number"}},
		{"missing command", "name: T\nspouts:\n  - name: s\n", []string{"t.yaml:3: spouts[0].command: missing"}},
		{"missing command file", "name: T\nspouts:\n  - name: s\n    command: ./nope.sh --x\n", []string{"t.yaml:4: spouts[0].command: command file ./nope.sh does not exist"}},
		{"command not executable", "name: T\nspouts:\n  - name: s\n    command: ./noexec.sh\n", []string{"spouts[0].command: command file ./noexec.sh is not executable"}},
		{"command outside", "name: T\nspouts:\n  - name: s\n    command: ../x.sh\n", []string{"spouts[0].command: ../x.sh is outside the topology folder"}},
		{"bad mode", header + "    mode: binary\n", []string{"t.yaml:5: spouts[0].mode: \"binary\" is not a mode"}},
		{"unknown component key", header + "    paralelism: 2\n", []string{"t.yaml:5: spouts[0].paralelism: unknown key"}},
		{"duplicate component", header + "bolts:\n  - name: s\n    command: cat\nstreams:\n  - {from: s, to: s}\n",
			[]string{"t.yaml:6: bolts[0].name: component \"s\" is already defined at line 3"}},
		{"unknown stream source", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - from: x\n    to: b\n",
			[]string{"t.yaml:8: streams[0].from: unknown component \"x\" (have b, s)"}},
		{"unknown stream target", header + "streams:\n  - from: s\n    to: nope\n",
			[]string{"t.yaml:7: streams[0].to: unknown component \"nope\""}},
		{"stream into spout", header + "streams:\n  - from: s\n    to: s\n",
			[]string{"t.yaml:7: streams[0].to: \"s\" is a spout"}},
		{"bolt without input", header + "bolts:\n  - {name: b, command: cat}\n",
			[]string{"t.yaml:6: bolts[0]: bolt \"b\" has no input"}},
		{"fields grouping on undeclared field", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - from: s\n    to: b\n    grouping: fields\n    fields: [word]\n",
			[]string{"t.yaml:11: streams[0].fields: \"word\" is not a field of s's stream \"default\" (it has line)"}},
		{"fields grouping without fields", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, grouping: fields}\n",
			[]string{"t.yaml:8: streams[0].fields: a fields grouping needs the fields"}},
		{"fields on shuffle", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, fields: [line]}\n",
			[]string{"streams[0].fields: only a fields grouping takes fields"}},
		{"bad grouping", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, grouping: random}\n",
			[]string{"t.yaml:8: streams[0].grouping: \"random\" is not a grouping"}},
		{"undeclared stream", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, stream: errors}\n",
			[]string{"streams[0].stream: \"s\" does not declare stream \"errors\" (it declares default)"}},
		{"raw two fields", header + "    outputs: [{fields: [a, b]}]\n", []string{"t.yaml:5: spouts[0].outputs: a raw-mode component has exactly one output stream of one field"}},
		{"direct from raw", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, grouping: direct}\n",
			[]string{"streams[0].grouping: a direct grouping needs a json-mode source"}},
		{"raw loop", header + "bolts:\n  - {name: a, command: cat}\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: a}\n  - {from: a, to: b}\n  - {from: b, to: a}\n",
			[]string{"t.yaml:11: streams[2]: streams form a loop of raw-mode components (a -> b -> a)"}},
		{"too many containers", "name: T\nconfig:\n  topology.stmgrs: 3\nspouts:\n  - {name: s, command: ./sentences.sh}\n",
			[]string{"t.yaml:3: config.topology.stmgrs: 3 containers for 1 instances"}},
		{"bad reliability", "name: T\nconfig:\n  topology.reliability.mode: SOMETIMES\nspouts:\n  - {name: s, command: ./sentences.sh}\n",
			[]string{"config.topology.reliability.mode: \"SOMETIMES\" is not a reliability mode"}},
		{"atleast once raw", "name: T\nconfig:\n  topology.reliability.mode: ATLEAST_ONCE\nspouts:\n  - {name: s, command: ./sentences.sh}\n",
			[]string{"ATLEAST_ONCE needs acks, which only json-mode components send; \"s\" is raw mode"}},
		{"reserved config", header + "    config: {heron.native.command: x}\n", []string{"spouts[0].config.heron.native.command: is set from"}},
		{"bad ram", header + "    resources: {ram: lots}\n", []string{"t.yaml:5: spouts[0].resources.ram: want a size like 512MB"}},
		{"duplicate key", header + "    command: cat\n", []string{"t.yaml:5: spouts[0].command: given twice"}},
		{"duplicate top-level key", "name: T\nname: U\nspouts:\n  - {name: s, command: ./sentences.sh}\n", []string{"t.yaml:2: name: given twice"}},
		{"duplicate config key", "name: T\nconfig:\n  topology.debug: true\n  topology.debug: false\nspouts:\n  - {name: s, command: ./sentences.sh}\n",
			[]string{"t.yaml:4: config.topology.debug: given twice"}},
		{"duplicate stream key", header + "bolts:\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: b, to: b}\n", []string{"t.yaml:8: streams[0].to: given twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeDef(t, tc.body)
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			if exitcode.Code(err) != exitcode.DataErr {
				t.Errorf("exit code %d, want %d", exitcode.Code(err), exitcode.DataErr)
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(p)+"/", "")
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\nlacks\n  %s", msg, w)
				}
			}
		})
	}
}

func TestJSONLoopAllowed(t *testing.T) {
	p := writeDef(t, header+"bolts:\n  - {name: a, command: cat, mode: json, outputs: [{fields: [x]}]}\n  - {name: b, command: cat}\nstreams:\n  - {from: s, to: a}\n  - {from: a, to: b}\n  - {from: b, to: a}\n")
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml")
	if exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("err %v code %d", err, exitcode.Code(err))
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"512MB": 512 << 20, "1GB": 1 << 30, "1 GiB": 1 << 30, "1024": 1024, "0.5GB": 1 << 29, "10k": 10 << 10} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "1XB", "1e99GB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}

func TestReadDefn(t *testing.T) {
	def, err := Load("testdata/wc/wordcount.yaml")
	if err != nil {
		t.Fatal(err)
	}
	top, _ := def.Compile(CompileOptions{})
	b, _ := protoMarshal(top)
	got, err := ReadDefn("x.defn", b)
	if err != nil || got.GetName() != "WordCount" {
		t.Fatal(got, err)
	}
	if _, err := ReadDefn("x.defn", []byte("garbage\xff")); exitcode.Code(err) != exitcode.DataErr {
		t.Fatalf("garbage accepted: %v", err)
	}
	top.Bolts[0].Inputs[0].Stream.ComponentName = ptr("ghost")
	b, _ = protoMarshal(top)
	if _, err := ReadDefn("x.defn", b); err == nil || !strings.Contains(err.Error(), "ghost/default") {
		t.Fatalf("dangling input accepted: %v", err)
	}
}

func TestSetParallelismAndTrim(t *testing.T) {
	def, _ := Load("testdata/wc/wordcount.yaml")
	top, _ := def.Compile(CompileOptions{})
	if err := SetParallelism(top, "count", 5); err != nil {
		t.Fatal(err)
	}
	p, _ := Parallelism(top)
	if p[2].Count != 5 {
		t.Fatal(p)
	}
	if err := SetParallelism(top, "ghost", 1); exitcode.Code(err) != exitcode.NotFound {
		t.Fatal(err)
	}
	top.Spouts[0].Comp.SerializedObject = []byte{1}
	if tr := Trimmed(top); tr.Spouts[0].Comp.SerializedObject != nil || top.Spouts[0].Comp.SerializedObject == nil {
		t.Fatal("trim")
	}
	SetConfig(top, "topology.stmgrs", "1")
	if v, _ := ConfigValue(top, "topology.stmgrs"); v != "1" {
		t.Fatal(v)
	}
}

func protoMarshal(m *apipb.Topology) ([]byte, error) { return proto.Marshal(m) }

func ptr(s string) *string { return &s }
