package executor_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
)

// A container restarted just before the packing plan changes (heron-submit
// restart --container 1, then an update that adds or removes a container)
// must come back into the new physical plan: every round reaches a
// complete physical plan for the new packing plan, with the restarted
// executor in it, and tuples reach every sink task again. The rounds follow
// the scheduler's update (deactivate, write the plan, wait for the
// physical plan, activate) at several delays after the restart, including
// none. As in Heron, every packing plan has the topology id as its id.
func TestContainerRestartDuringRepack(t *testing.T) {
	comps := []comp{
		{name: "tick", spout: true, par: 2, cmd: role("ticker")},
		{name: "relay", par: 2, cmd: "exec cat", inputs: []input{{from: "tick", grouping: shuffle}}},
		{name: "out", par: 3, cmd: sinkCmd("out"), inputs: []input{{from: "relay", grouping: shuffle}}},
	}
	topo := buildTopology("TRepack", comps, nil)
	plan := func(n int) *systempb.PackingPlan {
		pp := packTopology(comps, n)
		pp.Id = proto.String(topo.GetId())
		return pp
	}
	c := newClusterOf(t, topo, plan(2), 2, "", "")
	c.prepare(3)
	c.waitRunning()
	c.waitCount("out.*", 300, 30*time.Second)
	ctx := context.Background()
	nc := nodes.Client{Store: c.store}

	for round, delay := range []time.Duration{0, 0, 50 * time.Millisecond, 0, 200 * time.Millisecond, 0, 600 * time.Millisecond, 0} {
		n := 3
		if round%2 == 1 {
			n = 2
		}
		// The restart: the scheduler stops the executor and starts it again.
		c.procs[1].Stop()
		c.start(1)
		pid := int32(c.procs[1].PID())
		time.Sleep(delay)

		// The update, as the scheduler runs it.
		if code, body := c.controller("/deactivate"); code != 200 {
			t.Fatalf("round %d: deactivate: %d %q", round, code, body)
		}
		if n == 3 {
			c.start(3)
		}
		must(t, nc.Set(ctx, statemgr.PackingPlans, c.name(), plan(n)))
		err := testserver.Poll(ctx, 30*time.Second, func() error {
			pp, err := nc.PhysicalPlan(ctx, c.name())
			if err != nil {
				return err
			}
			if len(pp.GetStmgrs()) != n || len(pp.GetInstances()) != 7 {
				return fmt.Errorf("%d stream managers and %d instances in the physical plan", len(pp.GetStmgrs()), len(pp.GetInstances()))
			}
			for _, sm := range pp.GetStmgrs() {
				if sm.GetId() == "stmgr-1" && sm.GetPid() != pid {
					return fmt.Errorf("stmgr-1 has pid %d, not the restarted executor's %d", sm.GetPid(), pid)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d (%d containers, update %s after the restart): %v", round, n, delay, err)
		}
		if code, body := c.controller("/activate"); code != 200 {
			t.Fatalf("round %d: activate: %d %q", round, code, body)
		}
		if n == 2 {
			c.procs[3].Stop()
		}
		// Tuples reach every sink task again.
		before := c.lines("out.*")
		err = testserver.Poll(ctx, 30*time.Second, func() error {
			now := c.lines("out.*")
			for task := 5; task <= 7; task++ {
				f := "out." + strconv.Itoa(task)
				if len(now[f]) < len(before[f])+20 {
					return fmt.Errorf("%s went from %d to %d lines", f, len(before[f]), len(now[f]))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d (%d containers, update %s after the restart): %v", round, n, delay, err)
		}
	}
}
