package testscripts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	commands["json"] = cmdJSON
	commands["jsonenv"] = cmdJSONEnv
}

// cmdJSON checks one value in a JSON document:
//
//	json stdout .topologies.0.name WordCount
//	json file.json .count 3
//	! json stdout .missing x
//
// The source is stdout, stderr or a file; for JSON lines, the last line is
// used unless the path starts with a line number like "#2.name". The path is
// dotted keys and array indexes; "." alone is the whole value. The wanted
// value is compared with the JSON rendering of the found value, strings
// unquoted. Use "-exists" to check only presence, "-len N" for a length.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: json stdout|stderr|FILE PATH [WANT | -exists | -len N]")
	}
	var text string
	switch args[0] {
	case "stdout", "stderr":
		text = ts.ReadFile(args[0])
	default:
		text = ts.ReadFile(args[0])
	}
	path := args[1]
	lines := nonEmptyLines(text)
	if len(lines) == 0 {
		ts.Fatalf("%s holds no JSON", args[0])
	}
	line := lines[len(lines)-1]
	if strings.HasPrefix(path, "#") {
		i := strings.IndexAny(path, ".")
		if i < 0 {
			i = len(path)
		}
		n, err := strconv.Atoi(path[1:i])
		if err != nil || n < 0 || n >= len(lines) {
			ts.Fatalf("bad line selector in %q (have %d lines)", path, len(lines))
		}
		line, path = lines[n], path[i:]
	}
	var v any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		ts.Fatalf("%s is not JSON: %v\n%s", args[0], err, line)
	}
	got, found := lookup(v, path)
	var ok bool
	var desc string
	switch {
	case len(args) == 2 || args[2] == "-exists":
		ok, desc = found, "exists"
	case args[2] == "-len":
		n := -1
		switch g := got.(type) {
		case []any:
			n = len(g)
		case map[string]any:
			n = len(g)
		}
		ok, desc = found && len(args) > 3 && strconv.Itoa(n) == args[3], fmt.Sprintf("has length %d", n)
	default:
		want := strings.Join(args[2:], " ")
		s := render(got)
		ok, desc = found && s == want, fmt.Sprintf("is %s", s)
	}
	if !found {
		desc = "is missing"
	}
	if ok == neg {
		ts.Fatalf("json %s %s: value %s", args[0], strings.Join(args[1:], " "), desc)
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func lookup(v any, path string) (any, bool) {
	path = strings.TrimPrefix(path, ".")
	if path == "" {
		return v, true
	}
	for _, key := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[key]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// cmdJSONEnv sets $VAR to one value of a JSON document (the last line of
// stdout, stderr or a file), rendered as the json command renders it, so
// that later checks can expect values only known at run time (ports):
//
//	exec heron-statemgr -s $S get schedulerlocation WordCount
//	jsonenv SCHED stdout .http_endpoint
func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsonenv VAR stdout|stderr|FILE PATH")
	}
	lines := nonEmptyLines(ts.ReadFile(args[1]))
	if len(lines) == 0 {
		ts.Fatalf("%s holds no JSON", args[1])
	}
	var v any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v); err != nil {
		ts.Fatalf("%s is not JSON: %v", args[1], err)
	}
	got, ok := lookup(v, args[2])
	if !ok {
		ts.Fatalf("jsonenv: %s has no %s", args[1], args[2])
	}
	ts.Setenv(args[0], render(got))
}
