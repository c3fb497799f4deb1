// Package packing decides which instances of a topology run in which
// container, with Heron's algorithms (round robin, first-fit decreasing),
// Heron's task ids and component indexes, and Heron's resource defaults and
// padding, and converts the result to and from Heron's PackingPlan proto.
//
// Container ids in a plan run from 1; container 0 (the topology manager) is
// implicit, as in Heron.
//
// Heron iterates components in Java HashMap order where it has no other
// order (ties in the resource sort); javaHashOrder reproduces that order so
// that task ids match Heron's for the same topology.
package packing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// Resource is an amount of CPU (cores), RAM and disk (bytes).
type Resource struct {
	CPU  float64 `json:"cpu"`
	RAM  int64   `json:"ram"`
	Disk int64   `json:"disk"`
}

func (r Resource) plus(o Resource) Resource {
	return Resource{r.CPU + o.CPU, r.RAM + o.RAM, r.Disk + o.Disk}
}

// Instance is one instance of a component.
type Instance struct {
	Component      string   `json:"component_name"`
	TaskID         int      `json:"task_id"`
	ComponentIndex int      `json:"component_index"`
	Resource       Resource `json:"resource"`
}

// ID is Heron's runtime instance id, container_<c>_<component>_<task>.
func (i Instance) ID(container int) string {
	return fmt.Sprintf("container_%d_%s_%d", container, i.Component, i.TaskID)
}

// Container is one container's instances and size.
type Container struct {
	ID        int        `json:"id"`
	Instances []Instance `json:"instances"`
	Required  Resource   `json:"required_resource"`
	Scheduled *Resource  `json:"scheduled_resource,omitempty"`
}

// Plan is a packing plan. Containers are sorted by id and instances by task
// id, so that a plan has one encoding.
type Plan struct {
	ID         string      `json:"id"`
	Containers []Container `json:"container_plans"`
}

func (p *Plan) sort() {
	slices.SortFunc(p.Containers, func(a, b Container) int { return a.ID - b.ID })
	for i := range p.Containers {
		slices.SortFunc(p.Containers[i].Instances, func(a, b Instance) int { return a.TaskID - b.TaskID })
	}
}

// Proto converts the plan to Heron's PackingPlan message. Heron writes
// containers in hash-set order; we write them by id, instances by task id.
func (p *Plan) Proto() *systempb.PackingPlan {
	p.sort()
	out := &systempb.PackingPlan{Id: proto.String(p.ID)}
	for _, c := range p.Containers {
		cp := &systempb.ContainerPlan{Id: proto.Int32(int32(c.ID)), RequiredResource: c.Required.proto()}
		if c.Scheduled != nil {
			cp.ScheduledResource = c.Scheduled.proto()
		}
		for _, i := range c.Instances {
			cp.InstancePlans = append(cp.InstancePlans, &systempb.InstancePlan{
				ComponentName:  proto.String(i.Component),
				TaskId:         proto.Int32(int32(i.TaskID)),
				ComponentIndex: proto.Int32(int32(i.ComponentIndex)),
				Resource:       i.Resource.proto(),
			})
		}
		out.ContainerPlans = append(out.ContainerPlans, cp)
	}
	return out
}

func (r Resource) proto() *systempb.Resource {
	return &systempb.Resource{Cpu: proto.Float64(r.CPU), Ram: proto.Int64(r.RAM), Disk: proto.Int64(r.Disk)}
}

func resourceOf(r *systempb.Resource) Resource {
	return Resource{r.GetCpu(), r.GetRam(), r.GetDisk()}
}

// FromProto converts Heron's PackingPlan message.
func FromProto(m *systempb.PackingPlan) *Plan {
	p := &Plan{ID: m.GetId()}
	for _, cp := range m.GetContainerPlans() {
		c := Container{ID: int(cp.GetId()), Required: resourceOf(cp.GetRequiredResource())}
		if cp.ScheduledResource != nil {
			r := resourceOf(cp.ScheduledResource)
			c.Scheduled = &r
		}
		for _, ip := range cp.GetInstancePlans() {
			c.Instances = append(c.Instances, Instance{
				Component: ip.GetComponentName(), TaskID: int(ip.GetTaskId()),
				ComponentIndex: int(ip.GetComponentIndex()), Resource: resourceOf(ip.GetResource()),
			})
		}
		p.Containers = append(p.Containers, c)
	}
	p.sort()
	return p
}

// ComponentCounts is the number of instances of each component.
func (p *Plan) ComponentCounts() map[string]int {
	m := map[string]int{}
	for _, c := range p.Containers {
		for _, i := range c.Instances {
			m[i.Component]++
		}
	}
	return m
}

// componentNames lists the components in plan order (by container, then task id).
func (p *Plan) componentNames() []string {
	var out []string
	for _, c := range p.Containers {
		for _, i := range c.Instances {
			if !slices.Contains(out, i.Component) {
				out = append(out, i.Component)
			}
		}
	}
	return out
}

// ContainerIDs lists the container ids in order.
func (p *Plan) ContainerIDs() []int {
	out := make([]int, len(p.Containers))
	for i, c := range p.Containers {
		out[i] = c.ID
	}
	return out
}

// Container returns the container with an id, or nil.
func (p *Plan) Container(id int) *Container {
	for i := range p.Containers {
		if p.Containers[i].ID == id {
			return &p.Containers[i]
		}
	}
	return nil
}

// ComponentRAMMap is the executor's --component-ram-map value: for each
// component the smallest instance RAM over all containers, as
// "comp:bytes,comp:bytes" (Heron's getComponentRamDistribution), components
// in Java HashMap order as Heron prints them.
func (p *Plan) ComponentRAMMap() string {
	min := map[string]int64{}
	for _, c := range p.Containers {
		for _, i := range c.Instances {
			if v, ok := min[i.Component]; !ok || i.Resource.RAM < v {
				min[i.Component] = i.Resource.RAM
			}
		}
	}
	var parts []string
	for _, n := range javaHashOrder(p.componentNames()) {
		parts = append(parts, n+":"+strconv.FormatInt(min[n], 10))
	}
	return strings.Join(parts, ",")
}

// MaxContainerResource is, per dimension, the largest container (scheduled
// size if set, else required), Heron's getMaxContainerResources.
func (p *Plan) MaxContainerResource() Resource {
	var m Resource
	for _, c := range p.Containers {
		r := c.Required
		if c.Scheduled != nil {
			r = *c.Scheduled
		}
		m.CPU = max(m.CPU, r.CPU)
		m.RAM = max(m.RAM, r.RAM)
		m.Disk = max(m.Disk, r.Disk)
	}
	return m
}

// Homogeneous returns a copy where every container is scheduled with the
// largest container's size (Heron's cloneWithHomogeneousScheduledResource).
func (p *Plan) Homogeneous() *Plan {
	m := p.MaxContainerResource()
	out := &Plan{ID: p.ID}
	for _, c := range p.Containers {
		c.Instances = slices.Clone(c.Instances)
		r := m
		c.Scheduled = &r
		out.Containers = append(out.Containers, c)
	}
	return out
}
