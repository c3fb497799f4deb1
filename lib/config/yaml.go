package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Origin says where a value came from, so that errors can point at it.
type Origin struct {
	// File is the YAML file's path, or a label: "defaults", "--config-property",
	// "command line".
	File string
	// Line is 1-based; 0 when unknown.
	Line int
}

func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// layer is one source of keys: a parsed file, the defaults, or the
// command line. Later layers win, key by key (Heron's putAll).
type layer struct {
	vals    map[string]any
	origins map[string]Origin
	nodes   map[string]*yaml.Node // value nodes, for nested positions
}

func newLayer() *layer {
	return &layer{vals: map[string]any{}, origins: map[string]Origin{}, nodes: map[string]*yaml.Node{}}
}

func (l *layer) put(key string, v any, o Origin) {
	l.vals[key] = v
	l.origins[key] = o
}

// overlay puts o's keys over l's, each replacing the whole value (Heron's
// shallow merge of an override file). A nil o changes nothing.
func (l *layer) overlay(o *layer) {
	if o == nil {
		return
	}
	for k, v := range o.vals {
		l.put(k, v, o.origins[k])
		if n, ok := o.nodes[k]; ok {
			l.nodes[k] = n
		} else {
			delete(l.nodes, k)
		}
	}
}

// readYAMLFile parses a Heron YAML file. A missing file gives an empty layer
// and ok=false, as Heron's ConfigReader skips absent files.
func readYAMLFile(path string) (l *layer, ok bool, err error) {
	l, err = readYAMLFileRequired(path)
	if errors.Is(err, os.ErrNotExist) {
		return newLayer(), false, nil
	}
	return l, err == nil, err
}

// readYAMLFileRequired parses a YAML file that must exist; the error for a
// missing one wraps os.ErrNotExist and names the file.
func readYAMLFileRequired(path string) (*layer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return parseYAML(data, path)
}

// parseYAML reads a top-level YAML map. Values keep their YAML types; nested
// maps become map[string]any. An empty document is an empty map; duplicate
// top-level keys keep the last value, as Heron's SnakeYAML did.
func parseYAML(data []byte, name string) (*layer, error) {
	l := newLayer()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s: not valid YAML: %s", name, yamlErr(err))
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return l, nil
	}
	m := root.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return l, nil
	}
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: %s:%d: want a map of key: value at the top level, got %s",
			name, m.Line, kindName(m))
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key, err := keyString(k, name)
		if err != nil {
			return nil, err
		}
		val, err := decodeNode(v, name)
		if err != nil {
			return nil, fmt.Errorf("config: %s:%d: key %s: %s", name, v.Line, key, yamlErr(err))
		}
		l.put(key, val, Origin{File: name, Line: k.Line})
		l.nodes[key] = v
	}
	return l, nil
}

func keyString(k *yaml.Node, name string) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("config: %s:%d: a key must be a plain value, got %s", name, k.Line, kindName(k))
	}
	return k.Value, nil
}

// decodeNode turns a node into plain Go values: string, int, int64, float64,
// bool, nil, []any and map[string]any (non-string keys are formatted, as
// Heron's loadStream does).
func decodeNode(n *yaml.Node, name string) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[formatScalar(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	case int:
		return int64(t)
	case uint64:
		if t <= 1<<63-1 {
			return int64(t)
		}
		return float64(t)
	}
	return v
}

func formatScalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "nothing"
}

// yamlErr strips the library's "yaml: " prefix so the message reads as ours.
func yamlErr(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "yaml: " {
		return s[6:]
	}
	return s
}
