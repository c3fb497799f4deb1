package packing

import (
	"math"
	"slices"
	"strings"

	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Heron's AbstractPacking / PackingUtils defaults.
const (
	ffdPaddingPercentage = 10
	ffdRAMPadding        = gib
	ffdCPUPadding        = 1.0
	ffdDiskPadding       = gib
	ffdMaxInstances      = 10
	ffdMinInstanceRAM    = 192 * mib
	ffdMinInstanceCPU    = 0.1
)

// FirstFitDecreasing is Heron's FirstFitDecreasingPacking: instances sorted
// by RAM (or CPU) request, largest first, each placed in the first container
// with room, opening a container when none has.
type FirstFitDecreasing struct{ Options }

// ffdSetup is what AbstractPacking.initialize computes from the topology.
type ffdSetup struct {
	capacity, padding Resource
	maxInstances      int
	res               map[string]Resource
	cpuFirst          bool
}

func (f *FirstFitDecreasing) setup(t *apipb.Topology, names []string) (*ffdSetup, error) {
	c := &tconf{t: t}
	pct := c.int64(KeyPaddingPercentage, ffdPaddingPercentage)
	maxInst := c.int64(KeyContainerMaxInst, ffdMaxInstances)
	s := &ffdSetup{maxInstances: int(maxInst)}
	s.capacity = Resource{
		CPU:  c.float(KeyContainerCPU, f.InstanceCPU*float64(maxInst)),
		RAM:  c.int64(KeyContainerRAM, f.InstanceRAM*maxInst),
		Disk: c.int64(KeyContainerDisk, f.InstanceDisk*maxInst),
	}
	s.padding = Resource{
		CPU:  math.Max(c.float(KeyContainerCPUPadding, ffdCPUPadding), s.capacity.CPU*float64(pct)/100),
		RAM:  max(c.int64(KeyContainerRAMPadding, ffdRAMPadding), s.capacity.RAM*pct/100),
		Disk: max(ffdDiskPadding, s.capacity.Disk*pct/100),
	}
	ram := c.bytesMap("topology.component.rammap", names)
	cpu := c.floatMap("topology.component.cpumap", names)
	disk := c.bytesMap("topology.component.diskmap", names)
	s.res = map[string]Resource{}
	for _, n := range names {
		r := Resource{CPU: f.InstanceCPU, RAM: f.InstanceRAM, Disk: f.InstanceDisk}
		if v, ok := ram[n]; ok {
			r.RAM = v
		}
		if v, ok := cpu[n]; ok {
			r.CPU = v
		}
		if v, ok := disk[n]; ok {
			r.Disk = v
		}
		s.res[n] = r
	}
	if v, ok := c.str(KeyFFDSorting); ok {
		switch strings.ToUpper(v) {
		case "RAM_FIRST":
		case "CPU_FIRST":
			s.cpuFirst = true
		default:
			c.fail(errPacking("%s = %q; use RAM_FIRST or CPU_FIRST", KeyFFDSorting, v))
		}
	}
	return s, c.err
}

// sorted orders components by decreasing request; ties keep HashMap order.
func (s *ffdSetup) sorted(names []string) []string {
	out := slices.Clone(names)
	cmp := func(a, b float64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b string) int {
		ra, rb := s.res[a], s.res[b]
		first, second := cmp(float64(ra.RAM), float64(rb.RAM)), cmp(ra.CPU, rb.CPU)
		if s.cpuFirst {
			first, second = second, first
		}
		if first != 0 {
			return first
		}
		return second
	})
	return out
}

// builder is Heron's PackingPlanBuilder, reduced to what FFD uses.
type builder struct {
	s          *ffdSetup
	containers map[int]*Container
	taskIDs    map[int]bool
	indexes    map[string]map[int]bool
}

func newBuilder(s *ffdSetup, existing *Plan) *builder {
	b := &builder{s: s, containers: map[int]*Container{}, taskIDs: map[int]bool{}, indexes: map[string]map[int]bool{}}
	if existing != nil {
		for _, c := range existing.Containers {
			nc := &Container{ID: c.ID}
			for _, in := range c.Instances {
				b.record(nc, in)
			}
			b.containers[c.ID] = nc
		}
	}
	return b
}

func (b *builder) record(c *Container, in Instance) {
	c.Instances = append(c.Instances, in)
	b.taskIDs[in.TaskID] = true
	if b.indexes[in.Component] == nil {
		b.indexes[in.Component] = map[int]bool{}
	}
	b.indexes[in.Component][in.ComponentIndex] = true
}

func maxKey(m map[int]bool) (int, bool) {
	best, ok := 0, false
	for k := range m {
		if !ok || k > best {
			best, ok = k, true
		}
	}
	return best, ok
}

func (b *builder) used(c *Container) Resource {
	r := Resource{}
	for _, in := range c.Instances {
		r = r.plus(in.Resource)
	}
	return r.plus(b.s.padding)
}

// fits is Heron's instance and packing constraints.
func (b *builder) fits(c *Container, r Resource) bool {
	u := b.used(c).plus(r)
	cp := b.s.capacity
	return u.CPU <= cp.CPU && u.RAM <= cp.RAM && u.Disk <= cp.Disk && len(c.Instances)+1 <= b.s.maxInstances
}

func (b *builder) ids() []int {
	ids := make([]int, 0, len(b.containers))
	for id := range b.containers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// place puts one instance into the first container (by id) it fits in,
// opening container numContainers+1 when none has room.
func (b *builder) place(comp string, numContainers *int) error {
	r := b.s.res[comp]
	if r.RAM < ffdMinInstanceRAM {
		return errPacking("component %s asks for %s of RAM per instance; first-fit decreasing needs at least 192 MB", comp, formatBytes(r.RAM))
	}
	if r.CPU < ffdMinInstanceCPU {
		return errPacking("component %s asks for %g CPU per instance; first-fit decreasing needs at least 0.1", comp, r.CPU)
	}
	if *numContainers == 0 {
		*numContainers = 1
	}
	// Heron's initContainers: open containers after the highest id until
	// there are numContainers.
	next := 1
	if ids := b.ids(); len(ids) > 0 {
		next = ids[len(ids)-1] + 1
	}
	for len(b.containers) < *numContainers {
		b.containers[next] = &Container{ID: next}
		next++
	}
	for _, id := range b.ids() {
		if c := b.containers[id]; b.fits(c, r) {
			b.add(c, comp, r)
			return nil
		}
	}
	*numContainers++
	c := b.containers[*numContainers]
	if c == nil {
		c = &Container{ID: *numContainers}
		b.containers[*numContainers] = c
	}
	if !b.fits(c, r) {
		return errPacking("an instance of %s (%g CPU, %s RAM, %s disk) does not fit in an empty container (%g CPU, %s RAM, %s disk with padding %g CPU, %s RAM, %s disk)",
			comp, r.CPU, formatBytes(r.RAM), formatBytes(r.Disk), b.s.capacity.CPU, formatBytes(b.s.capacity.RAM), formatBytes(b.s.capacity.Disk),
			b.s.padding.CPU, formatBytes(b.s.padding.RAM), formatBytes(b.s.padding.Disk))
	}
	b.add(c, comp, r)
	return nil
}

func (b *builder) add(c *Container, comp string, r Resource) {
	task := 1
	if m, ok := maxKey(b.taskIDs); ok {
		task = m + 1
	}
	index := 0
	if m, ok := maxKey(b.indexes[comp]); ok {
		index = m + 1
	}
	b.record(c, Instance{Component: comp, TaskID: task, ComponentIndex: index, Resource: r})
}

// remove takes one instance of comp out of the best container by Heron's
// scorers: containers holding only comp, then fewest instances, then the
// largest share of comp, then the highest id. Heron removes "any" instance
// of the component there; we remove the one with the highest index.
func (b *builder) remove(comp string) error {
	type score struct {
		id                 int
		only, count, share int
		has                bool
		victim             int
	}
	var cands []score
	for _, id := range b.ids() {
		c := b.containers[id]
		n, victim := 0, -1
		for i, in := range c.Instances {
			if in.Component == comp {
				n++
				if victim < 0 || in.ComponentIndex > c.Instances[victim].ComponentIndex {
					victim = i
				}
			}
		}
		s := score{id: id, count: len(c.Instances), has: n > 0, victim: victim}
		if len(c.Instances) > 0 {
			if n == len(c.Instances) {
				s.only = 1000
			}
			s.share = int(1000 * float64(n) / float64(len(c.Instances)))
		}
		cands = append(cands, s)
	}
	slices.SortStableFunc(cands, func(a, b score) int {
		if a.only != b.only {
			return b.only - a.only
		}
		if a.count != b.count {
			return (a.count - b.count) * 1000
		}
		if a.share != b.share {
			return b.share - a.share
		}
		return b.id - a.id
	})
	for _, s := range cands {
		if !s.has {
			continue
		}
		c := b.containers[s.id]
		in := c.Instances[s.victim]
		c.Instances = slices.Delete(c.Instances, s.victim, s.victim+1)
		delete(b.taskIDs, in.TaskID)
		delete(b.indexes[comp], in.ComponentIndex)
		return nil
	}
	return errPacking("cannot remove an instance of %s: none left", comp)
}

func (b *builder) build(id string) *Plan {
	p := &Plan{ID: id}
	for _, cid := range b.ids() {
		c := b.containers[cid]
		if len(c.Instances) == 0 {
			continue
		}
		u := b.used(c)
		c.Required = Resource{CPU: math.Round(u.CPU), RAM: u.RAM, Disk: u.Disk}
		p.Containers = append(p.Containers, *c)
	}
	p.sort()
	return p
}

// Pack implements Packer.
func (f *FirstFitDecreasing) Pack(t *apipb.Topology) (*Plan, error) {
	names, counts, err := parallelism(t)
	if err != nil {
		return nil, err
	}
	s, err := f.setup(t, names)
	if err != nil {
		return nil, err
	}
	b := newBuilder(s, nil)
	n := 0
	for _, comp := range s.sorted(names) {
		for i := 0; i < counts[comp]; i++ {
			if err := b.place(comp, &n); err != nil {
				return nil, err
			}
		}
	}
	return b.build(t.GetId()), nil
}

// Repack implements Packer: existing placements and ids stay; instances are
// removed first, then added with the same first-fit rule. A new container
// count is not supported, as in Heron.
func (f *FirstFitDecreasing) Repack(t *apipb.Topology, current *Plan, containers int, deltas map[string]int) (*Plan, error) {
	if containers > 0 && containers != len(current.Containers) {
		return nil, errPacking("first-fit decreasing packing cannot change the container count; change parallelism only")
	}
	if _, err := newCounts(current.ComponentCounts(), deltas); err != nil {
		return nil, err
	}
	names, _, err := parallelism(t)
	if err != nil {
		return nil, err
	}
	s, err := f.setup(t, names)
	if err != nil {
		return nil, err
	}
	b := newBuilder(s, current)
	n := len(current.Containers)
	var down, up []string
	for _, comp := range javaHashOrder(current.componentNames()) {
		switch d := deltas[comp]; {
		case d < 0:
			down = append(down, comp)
		case d > 0:
			up = append(up, comp)
		}
	}
	for _, comp := range s.sorted(down) {
		for i := 0; i < -deltas[comp]; i++ {
			if err := b.remove(comp); err != nil {
				return nil, err
			}
		}
	}
	for _, comp := range s.sorted(up) {
		for i := 0; i < deltas[comp]; i++ {
			if err := b.place(comp, &n); err != nil {
				return nil, err
			}
		}
	}
	return b.build(current.ID), nil
}
