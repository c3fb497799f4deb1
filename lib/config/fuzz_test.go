package config

import (
	"strings"
	"testing"
)

// FuzzParseYAML feeds arbitrary bytes to the YAML reader, then expands and
// reads every key: nothing may panic, and errors must say where.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{
		"",
		"~\n",
		"a: 1\nb: ${HOME}/x\n",
		"heron.statemgr.root.path: ${HOME}/.herondata/repository/state/${CLUSTER}\n",
		"sinks: [a]\na:\n  class: heron-sink-file\n  x: {y: 1}\n",
		"- a\n- b\n",
		"a: &x [1, 2]\nb: *x\n",
		"? [a, b]\n: c\n",
		"1: one\ntrue: yes\nnull: ~\n",
		"a: 'unterminated\n",
		"a: !!binary aGVsbG8=\n",
		"a: 0x1F\nb: 1e3\nc: .inf\nd: 0o17\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseYAML(data, "f.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		e := expander{home: "/h", lookup: func(string) (string, bool) { return "/j", true }}
		vals := e.expandAll(l.vals)
		c := &Config{raw: l.vals, vals: vals, origins: l.origins, dir: "d"}
		for _, k := range c.Keys() {
			c.String(k, "")
			c.Int64(k, 0)
			c.Float(k, 0)
			c.Bool(k, false)
			c.StringList(k)
			c.StringMap(k)
			c.DurationUnit(k, 1, 0)
			if _, err := c.Bytes(k+".mb", 0); err != nil && !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error does not say where: %v", err)
			}
		}
		ms := &MetricsSinks{File: "f.yaml", l: l}
		ms.Sinks()
	})
}

// FuzzSubstitute checks token substitution on arbitrary values: what expandAll
// returns is a fixed point, substituting it again changes nothing.
func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{
		"${HOME}/a/${CLUSTER}/${ROLE}/${TOPOLOGY}", "~", "file://${HERON_HOME}/x", "a//b/",
		"/", "", "x://y://z", " ${HOME} ", "heron-${CLUSTER}", "${UNKNOWN}", "./${HERON_HOME}/bin",
	} {
		f.Add(s)
	}
	e := expander{home: "/home/u", lookup: func(string) (string, bool) { return "", false }}
	vals := map[string]any{KeyHeronHome: "/opt/heron", KeyCluster: "c", KeyRole: "r", KeyTopologyName: "t"}
	f.Fuzz(func(t *testing.T, s string) {
		in := map[string]any{"x": s}
		for k, v := range vals {
			in[k] = v
		}
		out := e.expandAll(in)
		once := out["x"].(string)
		if twice := e.substitute(out, once); twice != once {
			t.Fatalf("not stable: %q -> %q -> %q", s, once, twice)
		}
	})
}

// FuzzParseProperty checks that a parsed --config-property survives the trip
// through override.yaml unchanged.
func FuzzParseProperty(f *testing.F) {
	for _, s := range []string{"a=b", "a=True", "a=false", "a=x=y", "a=10", "a=", "=b", "a", "k=- item", "k=: x", "k=#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := ParseProperty(s)
		if err != nil {
			return
		}
		out, err := OverrideYAML(map[string]any{k: v})
		if err != nil {
			return // keys or values yaml.v3 cannot render (invalid UTF-8)
		}
		l, err := parseYAML(out, "override.yaml")
		if err != nil {
			t.Fatalf("%q: rendered %q does not parse: %v", s, out, err)
		}
		if got, ok := l.vals[k]; !ok || got != v || len(l.vals) != 1 {
			t.Fatalf("%q: rendered %q reads back as %#v", s, out, l.vals)
		}
	})
}
