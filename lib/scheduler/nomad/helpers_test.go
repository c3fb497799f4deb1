package nomad

import (
	"path/filepath"
	"testing"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/topology"
)

// confDir is the repository's conf/ folder, holding conf/nomad.
var confDir = filepath.Join("..", "..", "..", "conf")

// testTopology compiles the small word count in a temp folder.
func testTopology(t testing.TB) (*apipb.Topology, string) {
	t.Helper()
	def, err := topology.Load(testserver.SmallWordCount(t))
	if err != nil {
		t.Fatal(err)
	}
	top, err := def.Compile(topology.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return top, def.Dir
}

// loadConfig loads conf/nomad for the topology, with properties over it.
func loadConfig(t testing.TB, top *apipb.Topology, props ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{ConfigPath: confDir, Cluster: "nomad", Role: "streamer", SubmitUser: "streamer",
		Topology: top.GetName(), TopologyID: top.GetId(), HeronHome: "/opt/heron", Home: t.TempDir(), Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.With(map[string]any{
		scheduler.KeyBinaryFile: "wordcount.yaml",
		scheduler.KeyDefnFile:   top.GetName() + ".defn",
	})
}

// pack makes the round-robin plan of the topology.
func pack(t testing.TB, cfg *config.Config, top *apipb.Topology) *packing.Plan {
	t.Helper()
	o, err := packing.OptionsFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := packing.New("roundrobin", o)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Pack(top)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
