package topology

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/heronkit/heronkit/lib/native"
)

// Validate checks a parsed definition: names, commands and their files,
// parallelism, outputs, and that every stream joins existing components on a
// declared stream with a grouping whose fields the source declares. All
// problems are reported at once.
func (d *Definition) Validate() error {
	c := &errs{file: d.File}
	d.checkName(c)
	comps := map[string]*Component{}
	for _, comp := range append(slices.Clone(d.Spouts), d.Bolts...) {
		d.checkComponent(c, comp)
		if comp.Name == "" {
			continue
		}
		if prev, dup := comps[comp.Name]; dup {
			c.add(comp.lines["name"], comp.field+".name", "component %q is already defined at line %d; names must be unique", comp.Name, prev.lines["name"])
			continue
		}
		comps[comp.Name] = comp
	}
	if len(d.Spouts) == 0 && d.NameLine > 0 {
		c.add(0, "spouts", "a topology needs at least one spout")
	}
	d.checkStreams(c, comps)
	d.checkCycles(c, comps)
	d.checkConfig(c)
	return c.err()
}

func (d *Definition) checkName(c *errs) {
	switch {
	case d.Name == "":
		if d.NameLine > 0 {
			c.add(d.NameLine, "name", "is empty")
		}
	case strings.ContainsAny(d.Name, "./\\\x00") || strings.TrimSpace(d.Name) != d.Name:
		// Heron refuses '.' and '/' in topology names (TopologyUtils.verifyTopology).
		c.add(d.NameLine, "name", "%q must not contain '.', '/', '\\' or spaces at either end", d.Name)
	}
}

func (d *Definition) checkComponent(c *errs, comp *Component) {
	f := comp.field
	switch {
	case comp.Name == "":
		c.add(comp.line, f+".name", "missing: every component needs a name")
	case strings.ContainsAny(comp.Name, ":,/ \t\n\x00"):
		// ':' and ',' separate entries of Heron's component maps (rammap).
		c.add(comp.lines["name"], f+".name", "%q must not contain ':', ',', '/' or spaces", comp.Name)
	case strings.HasPrefix(comp.Name, "__"):
		c.add(comp.lines["name"], f+".name", "%q: names starting with __ are reserved for Heron's system streams", comp.Name)
	}
	if comp.Mode != native.ModeRaw && comp.Mode != native.ModeJSON {
		c.add(comp.lines["mode"], f+".mode", "%q is not a mode; use raw or json", comp.Mode)
	}
	if _, ok := comp.lines["parallelism"]; ok && comp.Parallelism < 1 {
		c.add(comp.lines["parallelism"], f+".parallelism", "must be at least 1, got %d", comp.Parallelism)
	}
	if strings.TrimSpace(comp.Command) == "" {
		line := comp.lines["command"]
		if line == 0 {
			line = comp.line
		}
		c.add(line, f+".command", "missing: every component runs a command")
	} else {
		d.checkCommandFile(c, comp)
	}
	for _, kv := range comp.Config {
		switch kv.Key {
		case native.KeyCommand, native.KeyMode, native.KeyParallelism:
			c.add(kv.Line, f+".config."+kv.Key, "is set from the component's command, mode and parallelism; remove it here")
		}
	}
	comp.defaultOutputs()
	seen := map[string]bool{}
	for i, o := range comp.Outputs {
		of := f + ".outputs[" + itoa(i) + "]"
		if o.Stream == "" || strings.HasPrefix(o.Stream, "__") {
			c.add(o.line, of+".stream", "%q is not a usable stream name", o.Stream)
		}
		if seen[o.Stream] {
			c.add(o.line, of+".stream", "stream %q is declared twice", o.Stream)
		}
		seen[o.Stream] = true
		if len(o.Fields) == 0 {
			c.add(o.line, of+".fields", "a stream needs at least one field")
		}
		fs := map[string]bool{}
		for _, fl := range o.Fields {
			if fl == "" || fs[fl] {
				c.add(o.line, of+".fields", "field names must be non-empty and unique, got %q", o.Fields)
				break
			}
			fs[fl] = true
		}
	}
	if comp.Mode == native.ModeRaw && (len(comp.Outputs) != 1 || len(comp.Outputs[0].Fields) != 1) {
		c.add(comp.lines["outputs"], f+".outputs", "a raw-mode component has exactly one output stream of one field (each stdout line is one tuple); use mode: json for more")
	}
}

// defaultOutputs gives raw components their implicit stream.
func (comp *Component) defaultOutputs() {
	if comp.Mode == native.ModeRaw && comp.Outputs == nil {
		comp.Outputs = []Output{{Stream: "default", Fields: []string{"line"}, line: comp.line}}
	}
}

// checkCommandFile checks a command whose first word is a relative path: the
// file must be inside the topology folder (it ships in the package) and be
// executable, since the command runs under /bin/sh -c in the container.
func (d *Definition) checkCommandFile(c *errs, comp *Component) {
	word := strings.Fields(comp.Command)[0]
	if !strings.Contains(word, "/") || filepath.IsAbs(word) || strings.ContainsAny(word, "$`'\"") {
		return
	}
	line, f := comp.lines["command"], comp.field+".command"
	rel := filepath.Clean(word)
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		c.add(line, f, "%s is outside the topology folder %s, so it would not be in the package", word, d.Dir)
		return
	}
	p := filepath.Join(d.Dir, rel)
	st, err := os.Stat(p)
	switch {
	case err != nil:
		c.add(line, f, "command file %s does not exist (looked in %s)", word, d.Dir)
	case !st.Mode().IsRegular():
		c.add(line, f, "command file %s is not a regular file", word)
	case st.Mode().Perm()&0o111 == 0:
		c.add(line, f, "command file %s is not executable; run chmod +x %s", word, p)
	}
}

func (d *Definition) checkStreams(c *errs, comps map[string]*Component) {
	inputs := map[string]int{}
	type key struct{ from, stream, to string }
	seen := map[key]int{}
	for _, s := range d.Streams {
		f := s.field
		from, to := comps[s.From], comps[s.To]
		switch {
		case s.From == "":
			c.add(s.line, f+".from", "missing: name the source component")
		case from == nil:
			c.add(s.lines["from"], f+".from", "unknown component %q (have %s)", s.From, names(comps))
		}
		switch {
		case s.To == "":
			c.add(s.line, f+".to", "missing: name the bolt that consumes the stream")
		case to == nil:
			c.add(s.lines["to"], f+".to", "unknown component %q (have %s)", s.To, names(comps))
		case to.Spout:
			c.add(s.lines["to"], f+".to", "%q is a spout; spouts take no input, only bolts do", s.To)
		default:
			inputs[s.To]++
		}
		k := key{s.From, s.Stream, s.To}
		if prev, dup := seen[k]; dup {
			c.add(s.line, f, "%s -> %s on stream %q is already declared at line %d", s.From, s.To, s.Stream, prev)
		}
		seen[k] = s.line
		if !slices.Contains(Groupings, s.Grouping) {
			c.add(s.lines["grouping"], f+".grouping", "%q is not a grouping; use one of %s", s.Grouping, strings.Join(Groupings, ", "))
			continue
		}
		var out *Output
		if from != nil {
			for i := range from.Outputs {
				if from.Outputs[i].Stream == s.Stream {
					out = &from.Outputs[i]
				}
			}
			if out == nil {
				c.add(lineOr(s.lines["stream"], s.line), f+".stream", "%q does not declare stream %q (it declares %s)", s.From, s.Stream, streamNames(from))
			}
		}
		switch s.Grouping {
		case "fields":
			if len(s.Fields) == 0 {
				c.add(s.line, f+".fields", "a fields grouping needs the fields to group on")
			}
			if out != nil {
				for _, fl := range s.Fields {
					if !slices.Contains(out.Fields, fl) {
						c.add(s.lines["fields"], f+".fields", "%q is not a field of %s's stream %q (it has %s)", fl, s.From, s.Stream, strings.Join(out.Fields, ", "))
					}
				}
			}
		default:
			if len(s.Fields) > 0 {
				c.add(s.lines["fields"], f+".fields", "only a fields grouping takes fields, this one is %s", s.Grouping)
			}
			if s.Grouping == "direct" && from != nil && from.Mode != native.ModeJSON {
				c.add(s.lines["grouping"], f+".grouping", "a direct grouping needs a json-mode source that names the target task; %q is %s mode", s.From, from.Mode)
			}
		}
	}
	for _, b := range d.Bolts {
		if b.Name != "" && inputs[b.Name] == 0 {
			c.add(b.line, b.field, "bolt %q has no input; add a stream with to: %s", b.Name, b.Name)
		}
	}
}

// checkCycles refuses a loop in the stream graph when every component on it
// is raw mode: a raw bolt turns every input line into output lines, so such a
// loop never stops. JSON-mode components choose what to emit, so a loop
// through one is allowed, as Heron allows loops.
func (d *Definition) checkCycles(c *errs, comps map[string]*Component) {
	edges := map[string][]*Stream{}
	for _, s := range d.Streams {
		if comps[s.From] != nil && comps[s.To] != nil && comps[s.From].Mode == native.ModeRaw && comps[s.To].Mode == native.ModeRaw {
			edges[s.From] = append(edges[s.From], s)
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var path []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		path = append(path, n)
		for _, s := range edges[n] {
			switch color[s.To] {
			case grey:
				i := slices.Index(path, s.To)
				loop := append(slices.Clone(path[i:]), s.To)
				c.add(s.line, s.field, "streams form a loop of raw-mode components (%s); raw bolts re-emit every line, so it would never stop; make one of them mode: json", strings.Join(loop, " -> "))
				return true
			case white:
				if visit(s.To) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		color[n] = black
		return false
	}
	for _, comp := range append(slices.Clone(d.Spouts), d.Bolts...) {
		if color[comp.Name] == white && visit(comp.Name) {
			return // one loop is enough to report
		}
	}
}

func (d *Definition) checkConfig(c *errs) {
	for _, kv := range d.Config {
		f := "config." + kv.Key
		switch kv.Key {
		case native.KeyContainers:
			if n, err := atoiStrict(kv.Value); err != nil || n < 1 {
				c.add(kv.Line, f, "must be a whole number of containers, at least 1, got %q", kv.Value)
			} else if total := d.totalInstances(); total > 0 && n > total {
				c.add(kv.Line, f, "%d containers for %d instances; Heron needs at least one instance per container", n, total)
			}
		case native.KeyReliabilityMode:
			if !slices.Contains([]string{"ATMOST_ONCE", "ATLEAST_ONCE", "EFFECTIVELY_ONCE"}, kv.Value) {
				c.add(kv.Line, f, "%q is not a reliability mode; use ATMOST_ONCE or ATLEAST_ONCE", kv.Value)
			} else if kv.Value == "EFFECTIVELY_ONCE" {
				c.add(kv.Line, f, "EFFECTIVELY_ONCE needs Heron's checkpoint manager, which native topologies do not have; use ATLEAST_ONCE")
			} else if kv.Value == "ATLEAST_ONCE" {
				for _, comp := range append(slices.Clone(d.Spouts), d.Bolts...) {
					if comp.Mode == native.ModeRaw {
						c.add(kv.Line, f, "ATLEAST_ONCE needs acks, which only json-mode components send; %q is raw mode", comp.Name)
						break
					}
				}
			}
		case native.KeyMessageTimeout, native.KeyMaxSpoutPending:
			if n, err := atoiStrict(kv.Value); err != nil || n < 1 {
				c.add(kv.Line, f, "must be a positive whole number, got %q", kv.Value)
			}
		case native.KeyNative, "topology.component.rammap", "topology.component.cpumap", "topology.component.diskmap":
			c.add(kv.Line, f, "is set by heron-submit from the components; remove it (use resources: on a component)")
		}
	}
}

func (d *Definition) totalInstances() int {
	n := 0
	for _, comp := range append(slices.Clone(d.Spouts), d.Bolts...) {
		n += max(comp.Parallelism, 0)
	}
	return n
}

func names(comps map[string]*Component) string {
	var n []string
	for k := range comps {
		n = append(n, k)
	}
	slices.Sort(n)
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func streamNames(comp *Component) string {
	if len(comp.Outputs) == 0 {
		return "no streams; add outputs"
	}
	var n []string
	for _, o := range comp.Outputs {
		n = append(n, o.Stream)
	}
	return strings.Join(n, ", ")
}

func lineOr(line, def int) int {
	if line == 0 {
		return def
	}
	return line
}
