package packing

import (
	"math"
	"slices"

	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Heron's RoundRobinPacking constants.
const (
	rrCPUPadding      = 1.0      // per container; topology.container.cpu.padding is ignored, as in Heron
	rrDiskPadding     = 12 * gib // per container
	rrDaemonRAM       = gib      // stmgr, metrics manager, checkpoint manager defaults
	rrMinInstanceRAM  = 16 * mib
	notSpecified      = -1
	notSpecifiedFloat = -1.0
)

// RoundRobin is Heron's RoundRobinPacking: topology.stmgrs containers,
// instances dealt out one by one, largest RAM request first, and each
// container's resources split among its instances.
type RoundRobin struct{ Options }

// Pack implements Packer.
func (r *RoundRobin) Pack(t *apipb.Topology) (*Plan, error) {
	n, err := NumContainers(t)
	if err != nil {
		return nil, err
	}
	names, counts, err := parallelism(t)
	if err != nil {
		return nil, err
	}
	return r.pack(t, n, names, counts)
}

// Repack implements Packer: the new container count keeps the topology's
// original instances-per-container ratio unless containers is given, and
// the plan is rebuilt from scratch (task ids may all change), as in Heron.
func (r *RoundRobin) Repack(t *apipb.Topology, current *Plan, containers int, deltas map[string]int) (*Plan, error) {
	counts, err := newCounts(current.ComponentCounts(), deltas)
	if err != nil {
		return nil, err
	}
	names := javaHashOrder(current.componentNames())
	if containers > 0 && containers != len(current.Containers) {
		return r.pack(t, containers, names, counts)
	}
	initialContainers, err := NumContainers(t)
	if err != nil {
		return nil, err
	}
	_, initialCounts, err := parallelism(t)
	if err != nil {
		return nil, err
	}
	perContainer := float64(sum(initialCounts)) / float64(initialContainers)
	n := int(math.Ceil(float64(sum(counts)) / perContainer))
	return r.pack(t, n, names, counts)
}

func (r *RoundRobin) pack(t *apipb.Topology, numContainers int, names []string, counts map[string]int) (*Plan, error) {
	c := &tconf{t: t}
	total := sum(counts)
	if numContainers < 1 {
		return nil, errPacking("invalid number of containers: %d (set %s to at least 1)", numContainers, KeyStmgrs)
	}
	if numContainers > total {
		return nil, errPacking("more containers (%d) than instances (%d); lower %s", numContainers, total, KeyStmgrs)
	}
	ramMap := c.bytesMap("topology.component.rammap", names)
	cpuMap := c.floatMap("topology.component.cpumap", names)

	// Largest RAM request first; ties keep HashMap order (stable sort).
	order := slices.Clone(names)
	slices.SortStableFunc(order, func(a, b string) int {
		ra, rb := ramMap[a], ramMap[b]
		switch {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return 0
	})
	alloc := make([][]Instance, numContainers+1)
	container, task := 1, 1
	for _, comp := range order {
		for i := 0; i < counts[comp]; i++ {
			alloc[container] = append(alloc[container], Instance{Component: comp, TaskID: task, ComponentIndex: i})
			container = container%numContainers + 1
			task++
		}
	}
	largest := 0
	for _, a := range alloc {
		largest = max(largest, len(a))
	}

	ramPadding := c.ramPadding()
	hint := Resource{
		CPU:  c.float(KeyContainerCPU, notSpecifiedFloat),
		RAM:  c.int64(KeyContainerRAM, notSpecified),
		Disk: c.int64(KeyContainerDisk, notSpecified),
	}
	if c.err != nil {
		return nil, c.err
	}
	plan := &Plan{ID: t.GetId()}
	for id := 1; id <= numContainers; id++ {
		insts := alloc[id]
		rams, err := r.split(id, insts, ramMap, hint.RAM, r.InstanceRAM*int64(largest)+ramPadding, ramPadding)
		if err != nil {
			return nil, err
		}
		cpus, err := r.splitCPU(id, insts, cpuMap, hint.CPU, float64(float32(math.Round(r.InstanceCPU*float64(largest)+rrCPUPadding))))
		if err != nil {
			return nil, err
		}
		var cont Container
		cont.ID = id
		var ram int64
		var cpu float64
		for i, in := range insts {
			in.Resource = Resource{CPU: cpus[i], RAM: rams[i], Disk: r.InstanceDisk}
			if in.Resource.RAM < rrMinInstanceRAM {
				return nil, errPacking("instance of %s in container %d would get %s of RAM, below the minimum of 16 MB; give it more with resources: ram, or raise %s",
					in.Component, id, formatBytes(in.Resource.RAM), KeyContainerRAM)
			}
			cont.Instances = append(cont.Instances, in)
			ram += in.Resource.RAM
			cpu += in.Resource.CPU
		}
		cpu += rrCPUPadding
		if hint.CPU != notSpecifiedFloat {
			cpu = min(cpu, hint.CPU)
		}
		ram += ramPadding
		if hint.RAM != notSpecified {
			ram = min(ram, hint.RAM)
		}
		disk := hint.Disk
		if disk == notSpecified {
			disk = r.InstanceDisk*int64(largest) + rrDiskPadding
		}
		cont.Required = Resource{CPU: max(cpu, hint.CPU), RAM: ram, Disk: disk}
		plan.Containers = append(plan.Containers, cont)
	}
	plan.sort()
	return plan, nil
}

// ramPadding is topology.container.ram.padding, else the daemons' RAM:
// stream manager + metrics manager + checkpoint manager (only when
// EFFECTIVELY_ONCE).
func (c *tconf) ramPadding() int64 {
	stmgr := c.int64(KeyStmgrRAM, rrDaemonRAM)
	metrics := c.int64(KeyMetricsmgrRAM, rrDaemonRAM)
	mode, _ := c.str(KeyReliabilityMode)
	ckptDefault := int64(0)
	if mode == "EFFECTIVELY_ONCE" {
		ckptDefault = rrDaemonRAM
	}
	ckpt := c.int64(KeyCkptmgrRAM, ckptDefault)
	return c.int64(KeyContainerRAMPadding, stmgr+metrics+ckpt)
}

// split gives each instance of a container its RAM: the component's rammap
// value if set, else an equal share of what the container has left after
// padding and the set values.
func (r *RoundRobin) split(id int, insts []Instance, set map[string]int64, hint, def, padding int64) ([]int64, error) {
	out := make([]int64, len(insts))
	var used int64
	var unset []int
	for i, in := range insts {
		if v, ok := set[in.Component]; ok {
			out[i] = v
			used += v
		} else {
			unset = append(unset, i)
		}
	}
	throttled := false
	if hint != notSpecified && used > hint-padding {
		if used > hint {
			return nil, errPacking("the instances' RAM in container %d (%s) exceeds %s = %s", id, formatBytes(used), KeyContainerRAM, formatBytes(hint))
		}
		throttled = true
	}
	total := def
	if hint != notSpecified {
		total = hint
	}
	if len(unset) > 0 {
		remaining := total - padding - used
		if throttled {
			remaining = total - used
		}
		if remaining <= 0 {
			return nil, errPacking("not enough RAM left in container %d for the instances without a ram request", id)
		}
		each := int64(math.Floor(float64(remaining)/float64(len(unset)) + 0.5)) // Java Math.round
		for _, i := range unset {
			out[i] = each
		}
	}
	return out, nil
}

// splitCPU is split for CPU shares (no rounding, as Heron's CPUShare).
func (r *RoundRobin) splitCPU(id int, insts []Instance, set map[string]float64, hint, def float64) ([]float64, error) {
	out := make([]float64, len(insts))
	var used float64
	var unset []int
	for i, in := range insts {
		if v, ok := set[in.Component]; ok {
			out[i] = v
			used += v
		} else {
			unset = append(unset, i)
		}
	}
	throttled := false
	if hint != notSpecifiedFloat && used > hint-rrCPUPadding {
		if used > hint {
			return nil, errPacking("the instances' CPU in container %d (%g) exceeds %s = %g", id, used, KeyContainerCPU, hint)
		}
		throttled = true
	}
	total := def
	if hint != notSpecifiedFloat {
		total = hint
	}
	if len(unset) > 0 {
		remaining := total - rrCPUPadding - used
		if throttled {
			remaining = total - used
		}
		if remaining <= 0 {
			return nil, errPacking("not enough CPU left in container %d for the instances without a cpu request", id)
		}
		for _, i := range unset {
			out[i] = remaining / float64(len(unset))
		}
	}
	return out, nil
}
