package prometheus

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/dlclark/regexp2"
)

// Sanitize is Heron's metric-name sanitising: a first character outside
// [a-zA-Z_] becomes "_", then every character outside [a-zA-Z0-9_] becomes
// "_". Characters are Java's UTF-16 units, so a rune outside the BMP gives
// two underscores, as in Heron.
func Sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	first := true
	for _, r := range s {
		n := 1
		if utf16.RuneLen(r) == 2 {
			n = 2
		}
		for k := 0; k < n; k++ {
			ok := r < unicode.MaxASCII && (r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || !first && '0' <= r && r <= '9')
			if ok && k == 0 {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
			first = false
		}
	}
	return b.String()
}

// SnakeLower is Heron's toSnakeAndLowerCase: lower-case every character and
// put "_" before an upper-case one unless the previous one was upper-case or "_".
func SnakeLower(s string) string {
	if s == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	prevUpperOrUnderscore := false
	for i, r := range s {
		upper := unicode.IsUpper(r)
		if i > 0 && upper && !prevUpperOrUnderscore {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
		prevUpperOrUnderscore = upper || r == '_'
	}
	return b.String()
}

// exportName is Heron's final step: "heron_" + the name without "__" pairs,
// lower-cased and sanitised.
func exportName(m string) string {
	return Sanitize("heron_" + strings.ToLower(strings.ReplaceAll(m, "__", "")))
}

// Label is one extra label a metric's name gave it.
type Label struct{ Name, Value string }

// Naming is the exported name and extra labels of one raw metric name.
type Naming struct {
	Name   string
	Labels []Label
	// Help is the help of the last matching rule that had one.
	Help string
}

func setLabel(ls []Label, name, value string) []Label {
	for i := range ls {
		if ls[i].Name == name {
			ls[i].Value = value
			return ls
		}
	}
	return append(ls, Label{name, value})
}

var (
	splitTarget = regexp.MustCompile(`^__(\w+)_((\w+)-\d+)$`)
	allDigits   = regexp.MustCompile(`^[0-9]+$`)
)

// stmgrName is Heron's naming of stream-manager metrics, whose names carry
// an instance or stream-manager id that becomes the metric_instance_id label.
func stmgrName(metric string) Naming {
	var ls []Label
	split := func(a string, b *string) string {
		if b == nil {
			return a
		}
		if allDigits.MatchString(*b) {
			ls = setLabel(ls, "metric_instance_id", *b)
			return a
		}
		if m := splitTarget.FindStringSubmatch(a); m != nil {
			ls = setLabel(ls, "metric_instance_id", m[2])
			return m[1] + "_" + m[3] + "_" + *b
		}
		return a + "_" + *b
	}
	by := strings.Contains(metric, "_by_")
	p := strings.Split(metric, "/")
	var m string
	switch {
	case by && len(p) == 3:
		m = split(p[0], &p[2])
		ls = setLabel(ls, "metric_instance_id", p[1])
	case by && len(p) == 2:
		m = split(p[0], nil)
		ls = setLabel(ls, "metric_instance_id", p[1])
	case len(p) == 2:
		m = split(p[0], &p[1])
	default:
		m = split(metric, nil)
	}
	return Naming{Name: exportName(m), Labels: ls}
}

// Rule is one entry of the sink's rules list (Heron's subset of the JMX
// exporter's rules).
type Rule struct {
	Pattern   *regexp2.Regexp
	Name      string
	Snake     bool
	Labels    []Label // name and value templates, sorted by name
	Help      string
	Type      string
	HasName   bool
	HasLabels bool
}

// ruleTimeout bounds one match: the patterns are user input and the engine
// backtracks.
const ruleTimeout = 100 * time.Millisecond

var ruleTypes = map[string]bool{"COUNTER": true, "GAUGE": true, "SUMMARY": true, "HISTOGRAM": true, "UNTYPED": true}

// ParseRules reads the rules key: a list of maps with pattern, name,
// attrNameSnakeCase, labels, help, type, value and valueFactor, validated as
// Heron does. No rules key gives one rule that only lower-cases the name.
func ParseRules(v any) ([]*Rule, error) {
	if v == nil {
		return []*Rule{{}}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("rules: want a list of rules, got %T", v)
	}
	rules := make([]*Rule, 0, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("rules[%d]: want a map, got %T", i, item)
		}
		r, err := parseRule(m)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(m map[string]any) (*Rule, error) {
	r := &Rule{}
	str := func(k string) (string, bool, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", false, nil
		}
		switch t := v.(type) {
		case string:
			return t, true, nil
		case int, int64, float64, bool:
			return fmt.Sprint(t), true, nil
		}
		return "", false, fmt.Errorf("%s: want a string, got %T", k, v)
	}
	if p, ok, err := str("pattern"); err != nil {
		return nil, err
	} else if ok {
		// Java's Matcher.matches(): the whole name must match.
		re, err := regexp2.Compile(`\A(?:^.*(?:`+p+`).*$)\z`, regexp2.None)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %v", p, err)
		}
		re.MatchTimeout = ruleTimeout
		r.Pattern = re
	}
	var err error
	if r.Name, r.HasName, err = str("name"); err != nil {
		return nil, err
	}
	if r.Help, _, err = str("help"); err != nil {
		return nil, err
	}
	_, hasHelp := m["help"]
	if v, ok := m["attrNameSnakeCase"]; ok && v != nil {
		switch t := v.(type) {
		case bool:
			r.Snake = t
		case string:
			r.Snake, err = strconv.ParseBool(t)
			if err != nil {
				return nil, fmt.Errorf("attrNameSnakeCase: want true or false, got %q", t)
			}
		default:
			return nil, fmt.Errorf("attrNameSnakeCase: want true or false, got %T", v)
		}
	}
	if t, ok, err := str("type"); err != nil {
		return nil, err
	} else if ok {
		if !ruleTypes[t] {
			return nil, fmt.Errorf("type %q: want COUNTER, GAUGE, SUMMARY, HISTOGRAM or UNTYPED", t)
		}
		r.Type = t
	}
	if v, ok := m["labels"]; ok && v != nil {
		lm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("labels: want a map, got %T", v)
		}
		for k, lv := range lm {
			s, ok := lv.(string)
			if !ok {
				s = fmt.Sprint(lv)
			}
			r.Labels = append(r.Labels, Label{k, s})
		}
		sort.Slice(r.Labels, func(i, j int) bool { return r.Labels[i].Name < r.Labels[j].Name })
		r.HasLabels = true
	}
	if (r.HasLabels || hasHelp) && !r.HasName {
		return nil, fmt.Errorf("must provide name, if help or labels are given")
	}
	if r.HasName && r.Pattern == nil {
		return nil, fmt.Errorf("must provide pattern, if name is given")
	}
	return r, nil
}

// ruleName is Heron's naming of every other component's metrics: sanitise,
// then apply every matching rule in order (a later match overrides the name
// and adds labels).
func ruleName(metric string, rules []*Rule) (Naming, error) {
	name := Sanitize(metric)
	var ls []Label
	help := ""
	for _, r := range rules {
		cand := name
		var groups []string
		if r.Pattern != nil {
			m, err := r.Pattern.FindStringMatch(metric)
			if err != nil {
				return Naming{}, fmt.Errorf("rule pattern %s on %q: %w", r.Pattern, metric, err)
			}
			if m == nil {
				continue
			}
			gs := m.Groups()
			groups = make([]string, len(gs))
			for i, g := range gs {
				groups[i] = g.String()
			}
		}
		if r.HasName && r.Name != "" {
			cand = Sanitize(expandJava(r.Name, groups))
			if cand == "" {
				continue
			}
		}
		if r.Snake {
			name = SnakeLower(cand)
		} else {
			name = strings.ToLower(cand)
		}
		for _, l := range r.Labels {
			ln := strings.ToLower(Sanitize(expandJava(l.Name, groups)))
			lv := expandJava(l.Value, groups)
			if ln != "" && lv != "" {
				ls = setLabel(ls, ln, lv)
			}
		}
		if r.Help != "" {
			help = r.Help
		}
	}
	return Naming{Name: exportName(name), Labels: ls, Help: help}, nil
}

// expandJava expands a java.util.regex replacement: $n group references
// (digits are taken while they name an existing group), and a backslash
// quoting the next character. The pattern matched the whole name, so
// replaceAll is this one expansion. An unknown reference expands to nothing.
func expandJava(tmpl string, groups []string) string {
	if !strings.ContainsAny(tmpl, `$\`) {
		return tmpl
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case c == '$' && i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9':
			n := int(tmpl[i+1] - '0')
			i++
			for i+1 < len(tmpl) && tmpl[i+1] >= '0' && tmpl[i+1] <= '9' {
				next := n*10 + int(tmpl[i+1]-'0')
				if next >= len(groups) {
					break
				}
				n = next
				i++
			}
			if n < len(groups) {
				b.WriteString(groups[n])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
