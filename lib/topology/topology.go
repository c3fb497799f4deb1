// Package topology reads native topology definitions: a YAML file naming
// spouts and bolts that are Unix commands, the streams between them, and the
// topology's config (in the spirit of Heron's ECO/Flux). It checks them, with
// errors that name the file, line and field, and compiles them into Heron's
// Topology proto (the .defn), so every Heron tool can display them.
//
// The format:
//
//	name: WordCount
//	config:                          # Heron topology config keys
//	  topology.stmgrs: 2
//	spouts:
//	  - name: sentences
//	    command: ./sentences.sh      # /bin/sh -c, in the unpacked package
//	    mode: raw                    # raw (default) | json
//	    parallelism: 2               # default 1
//	    outputs: [{stream: default, fields: [line]}]
//	    resources: {cpu: 0.5, ram: 256MB, disk: 1GB}
//	    config: {some.key: value}
//	bolts:
//	  - name: count
//	    command: ./count.awk
//	streams:
//	  - {from: sentences, to: count, grouping: fields, fields: [line]}
//
// Raw-mode components have one output stream of one field; when none is
// declared it is stream "default" with field "line". JSON-mode components
// declare their outputs (none means a sink).
package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/native"
)

// MaxFileSize bounds the YAML file: a definition is a few KB, anything near
// this is a mistake (a binary passed by accident).
const MaxFileSize = 4 << 20

// Definition is a parsed native topology file.
type Definition struct {
	// File is the path the definition was read from; Dir its folder, which
	// is packaged with the topology and is the instances' working directory.
	File, Dir string
	Name      string
	NameLine  int
	// Config is the topology config in file order.
	Config  []KV
	Spouts  []*Component
	Bolts   []*Component
	Streams []*Stream
}

// KV is one config entry; values are kept as the strings Heron stores.
type KV struct {
	Key, Value string
	Line       int
}

// Component is a spout or a bolt.
type Component struct {
	Name        string
	Spout       bool
	Command     string
	Mode        string // native.ModeRaw or native.ModeJSON
	Parallelism int
	Outputs     []Output
	Resources   Resources
	Config      []KV

	field string         // "spouts[0]"
	line  int            // line of the list item
	lines map[string]int // line of each key
}

// Field is the component's path in the file, e.g. "bolts[1]".
func (c *Component) Field() string { return c.field }

// Line is the component's line in the file.
func (c *Component) Line() int { return c.line }

// Output is one declared output stream.
type Output struct {
	Stream string
	Fields []string
	line   int
}

// Resources are per-instance requests; zero means "the cluster default".
type Resources struct {
	CPU  float64
	RAM  int64 // bytes
	Disk int64 // bytes
}

// Stream connects a source component's output stream to a bolt.
type Stream struct {
	From, To string
	Stream   string // default "default"
	Grouping string // shuffle | fields | all | global | none | direct
	Fields   []string

	field string
	line  int
	lines map[string]int
}

// Groupings lists the accepted grouping names.
var Groupings = []string{"shuffle", "fields", "all", "global", "none", "direct"}

// Load reads and checks a topology file. Relative command paths are checked
// against the file's folder.
func Load(path string) (*Definition, error) {
	st, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, exitcode.WithHint(exitcode.Errorf(exitcode.NotFound, "topology file %s does not exist", path),
				"give the path of a topology YAML file")
		}
		return nil, exitcode.Wrap(exitcode.NotFound, err)
	}
	if !st.Mode().IsRegular() {
		return nil, exitcode.Errorf(exitcode.DataErr, "topology file %s is not a regular file", path)
	}
	if st.Size() > MaxFileSize {
		return nil, exitcode.Errorf(exitcode.DataErr, "topology file %s is %d bytes; a definition must be under %d", path, st.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.NotFound, err)
	}
	def, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := def.Validate(); err != nil {
		return nil, err
	}
	return def, nil
}

// Parse reads a definition from bytes without checking the command files
// (Validate does that). name is used in error messages and to find Dir.
func Parse(name string, data []byte) (*Definition, error) {
	c := &errs{file: name}
	def := &Definition{File: name, Dir: filepath.Dir(name)}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlError(err)
		c.add(line, "", "not valid YAML: %s", msg)
		return nil, c.err()
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		c.add(0, "", "the file is empty; a topology needs at least name and spouts")
		return nil, c.err()
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		c.add(top.Line, "", "want a map with name, config, spouts, bolts and streams, got %s", kind(top))
		return nil, c.err()
	}
	seen := map[string]int{}
	eachKey(c, top, "", seen, func(k, v *yaml.Node, _ string) {
		switch k.Value {
		case "name":
			def.Name, def.NameLine = scalar(c, v, "name"), k.Line
		case "config":
			def.Config = kvs(c, v, "config")
		case "spouts":
			def.Spouts = components(c, v, "spouts", true)
		case "bolts":
			def.Bolts = components(c, v, "bolts", false)
		case "streams":
			def.Streams = streams(c, v)
		default:
			c.add(k.Line, k.Value, "unknown key (want name, config, spouts, bolts or streams)")
		}
	})
	if _, ok := seen["name"]; !ok {
		c.add(top.Line, "name", "missing: every topology needs a name")
	}
	if _, ok := seen["spouts"]; !ok {
		c.add(top.Line, "spouts", "missing: a topology needs at least one spout")
	}
	return def, c.err()
}

func components(c *errs, n *yaml.Node, what string, spout bool) []*Component {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.add(n.Line, what, "want a list of components, got %s", kind(n))
		return nil
	}
	var out []*Component
	for i, item := range n.Content {
		field := fmt.Sprintf("%s[%d]", what, i)
		if item.Kind != yaml.MappingNode {
			c.add(item.Line, field, "want a map with name, command, ..., got %s", kind(item))
			continue
		}
		comp := &Component{Spout: spout, Mode: native.ModeRaw, Parallelism: 1, field: field, line: item.Line, lines: map[string]int{}}
		eachKey(c, item, field, comp.lines, func(k, v *yaml.Node, f string) {
			switch k.Value {
			case "name":
				comp.Name = scalar(c, v, f)
			case "command":
				comp.Command = scalar(c, v, f)
			case "mode":
				comp.Mode = scalar(c, v, f)
			case "parallelism":
				comp.Parallelism = integer(c, v, f)
			case "outputs":
				comp.Outputs = outputs(c, v, f)
			case "resources":
				comp.Resources = resources(c, v, f)
			case "config":
				comp.Config = kvs(c, v, f)
			default:
				c.add(k.Line, f, "unknown key (want name, command, mode, parallelism, outputs, resources or config)")
			}
		})
		out = append(out, comp)
	}
	return out
}

func outputs(c *errs, n *yaml.Node, field string) []Output {
	if n.Kind != yaml.SequenceNode {
		c.add(n.Line, field, "want a list of {stream, fields}, got %s", kind(n))
		return nil
	}
	var out []Output
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		if item.Kind != yaml.MappingNode {
			c.add(item.Line, f, "want a map {stream, fields}, got %s", kind(item))
			continue
		}
		o := Output{Stream: "default", line: item.Line}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "stream":
				o.Stream = scalar(c, v, f+".stream")
			case "fields":
				o.Fields = strList(c, v, f+".fields")
			default:
				c.add(k.Line, f+"."+k.Value, "unknown key (want stream or fields)")
			}
		}
		out = append(out, o)
	}
	return out
}

func resources(c *errs, n *yaml.Node, field string) Resources {
	var r Resources
	if n.Kind != yaml.MappingNode {
		c.add(n.Line, field, "want a map {cpu, ram, disk}, got %s", kind(n))
		return r
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		f := field + "." + k.Value
		switch k.Value {
		case "cpu":
			s := scalar(c, v, f)
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || x <= 0 {
				c.add(v.Line, f, "want a positive number of cores like 0.5, got %q", s)
			}
			r.CPU = x
		case "ram", "disk":
			s := scalar(c, v, f)
			b, err := ParseBytes(s)
			if err != nil {
				c.add(v.Line, f, "%v", err)
			}
			if k.Value == "ram" {
				r.RAM = b
			} else {
				r.Disk = b
			}
		default:
			c.add(k.Line, f, "unknown key (want cpu, ram or disk)")
		}
	}
	return r
}

func streams(c *errs, n *yaml.Node) []*Stream {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.add(n.Line, "streams", "want a list of {from, to, grouping}, got %s", kind(n))
		return nil
	}
	var out []*Stream
	for i, item := range n.Content {
		field := fmt.Sprintf("streams[%d]", i)
		if item.Kind != yaml.MappingNode {
			c.add(item.Line, field, "want a map {from, to, stream, grouping, fields}, got %s", kind(item))
			continue
		}
		s := &Stream{Stream: "default", Grouping: "shuffle", field: field, line: item.Line, lines: map[string]int{}}
		eachKey(c, item, field, s.lines, func(k, v *yaml.Node, f string) {
			switch k.Value {
			case "from":
				s.From = scalar(c, v, f)
			case "to":
				s.To = scalar(c, v, f)
			case "stream":
				s.Stream = scalar(c, v, f)
			case "grouping":
				s.Grouping = strings.ToLower(scalar(c, v, f))
			case "fields":
				s.Fields = strList(c, v, f)
			default:
				c.add(k.Line, f, "unknown key (want from, to, stream, grouping or fields)")
			}
		})
		out = append(out, s)
	}
	return out
}

// kvs reads a flat config map; values become the strings Heron stores
// (booleans true/false, numbers as written).
func kvs(c *errs, n *yaml.Node, field string) []KV {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		c.add(n.Line, field, "want a map of key: value, got %s", kind(n))
		return nil
	}
	var out []KV
	eachKey(c, n, field, nil, func(k, v *yaml.Node, f string) {
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			c.add(k.Line, field, "a key must be a non-empty plain value")
			return
		}
		out = append(out, KV{Key: k.Value, Value: configValue(c, v, f), Line: k.Line})
	})
	return out
}

func configValue(c *errs, v *yaml.Node, field string) string {
	if v.Kind != yaml.ScalarNode {
		c.add(v.Line, field, "want a string, number or boolean, got %s", kind(v))
		return ""
	}
	if v.Tag == "!!bool" {
		var b bool
		if err := v.Decode(&b); err == nil {
			return strconv.FormatBool(b)
		}
	}
	if v.Tag == "!!null" {
		c.add(v.Line, field, "has no value")
		return ""
	}
	return v.Value
}

func scalar(c *errs, n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.add(n.Line, field, "want a plain value, got %s", kind(n))
		return ""
	}
	return n.Value
}

func integer(c *errs, n *yaml.Node, field string) int {
	s := scalar(c, n, field)
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		c.add(n.Line, field, "want a whole number, got %q", s)
		return 0
	}
	return v
}

func strList(c *errs, n *yaml.Node, field string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value} // a single field may be written without brackets
	}
	if n.Kind != yaml.SequenceNode {
		c.add(n.Line, field, "want a list of names, got %s", kind(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		out = append(out, scalar(c, e, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// yamlError pulls the line out of yaml.v3's "yaml: line N: msg".
func yamlError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
	}
	return line, msg
}

// ParseBytes reads a size: a plain number of bytes, or a number with B, KB,
// MB, GB, TB (powers of 1024, as Heron's ByteAmount) or KiB, MiB, GiB, TiB.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	mult := int64(1)
	switch strings.TrimSuffix(unit, "IB") {
	case "", "B":
	case "K", "KB":
		mult = 1 << 10
	case "M", "MB":
		mult = 1 << 20
	case "G", "GB":
		mult = 1 << 30
	case "T", "TB":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("want a size like 512MB or 1GB, got %q", s)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("want a positive size like 512MB or 1GB, got %q", s)
	}
	b := f * float64(mult)
	if b > 1<<62 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(b), nil
}

// eachKey walks a YAML map's pairs in order, calling fn with the key's field
// path (field.key, or the key alone at the top). A key given twice is
// reported and skipped. lines, when not nil, records each key's line.
func eachKey(c *errs, n *yaml.Node, field string, lines map[string]int, fn func(k, v *yaml.Node, f string)) {
	seen := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		f := k.Value
		if field != "" {
			f = field + "." + k.Value
		}
		if seen[k.Value] {
			c.add(k.Line, f, "given twice")
			continue
		}
		seen[k.Value] = true
		if lines != nil {
			lines[k.Value] = k.Line
		}
		fn(k, v, f)
	}
}
