package executor_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
)

// With port 0 for every port flag, a native executor binds any free port
// and reports the ports it got: the topology manager location holds its
// real server, controller and stats ports, the physical plan the stream
// managers' real data and shell ports, and tuples cross containers through
// them. A scheduler can then leave choosing ports to the kernel.
func TestPortZeroBindsAndReportsRealPorts(t *testing.T) {
	comps := []comp{
		{name: "numbers", spout: true, par: 2, cmd: `exec awk -v t="$HERON_TASK_ID" 'BEGIN{for(i=1;i<=500;i++) print t "-" i}'`},
		{name: "relay", par: 2, cmd: "exec cat", inputs: []input{{from: "numbers", grouping: shuffle}}},
		{name: "out", par: 2, cmd: sinkCmd("out"), inputs: []input{{from: "relay", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 2, "")
	pp := c.waitRunning()
	c.waitCount("out.*", 1000, 60*time.Second)

	if c.ports[0].server != 0 || c.ports[1].shell != 0 {
		t.Fatalf("the cluster was given ports %v", c.ports)
	}
	loc := c.tmanager()
	if loc.GetServerPort() == 0 || loc.GetControllerPort() == 0 || loc.GetStatsPort() == 0 {
		t.Fatalf("topology manager location has port 0: %v", loc)
	}
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if code := get(fmt.Sprintf("http://127.0.0.1:%d/activate?topologyid=%s", loc.GetControllerPort(), c.topo.GetId())); code != 400 {
		t.Errorf("activate of a running topology on the reported controller port: %d, want 400", code)
	}
	for _, s := range pp.GetStmgrs() {
		if s.GetDataPort() == 0 || s.GetShellPort() == 0 {
			t.Fatalf("stream manager %s has port 0: %v", s.GetId(), s)
		}
		if code := get(fmt.Sprintf("http://127.0.0.1:%d/health", s.GetShellPort())); code != 200 {
			t.Errorf("shell of %s on its reported port: %d", s.GetId(), code)
		}
	}
}

// Ports given are the ports used and reported.
func TestGivenPortsAreReported(t *testing.T) {
	orig := pickPorts
	pickPorts = func(t testing.TB) ports {
		return ports{testserver.FreePort(t), testserver.FreePort(t), testserver.FreePort(t), testserver.FreePort(t), testserver.FreePort(t)}
	}
	defer func() { pickPorts = orig }()
	comps := []comp{
		{name: "tick", spout: true, par: 1, cmd: role("ticker")},
		{name: "out", par: 1, cmd: sinkCmd("out"), inputs: []input{{from: "tick", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "")
	pp := c.waitRunning()
	loc := c.tmanager()
	if p := c.ports[0]; int(loc.GetServerPort()) != p.server || int(loc.GetControllerPort()) != p.controller || int(loc.GetStatsPort()) != p.stats {
		t.Errorf("topology manager location %v, given %+v", loc, p)
	}
	s := pp.GetStmgrs()[0]
	if p := c.ports[1]; int(s.GetDataPort()) != p.server || int(s.GetShellPort()) != p.shell || int(s.GetLocalDataPort()) != p.controller {
		t.Errorf("stream manager %v, given %+v", s, p)
	}
}
