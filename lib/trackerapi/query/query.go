// Package query is Heron tracker's metrics query language: the parser and
// the evaluator behind /topologies/metrics/query, with Heron's semantics
// (minute flooring, the fill rule that overwrites zeros, instance matching
// for the binary operators, RATE over consecutive minutes).
//
//	TS(component, instance|*, metric)     DEFAULT(k, X)    RATE(X)
//	SUM(a, ...)   MAX(a, ...)   PERCENTILE(q, a, ...)
//	SUBTRACT(a, b)   MULTIPLY(a, b)   DIVIDE(a, b)
//
// One deliberate difference: when two raw points of a series fall in the
// same minute the newest one is kept (Heron keeps the one it enumerates
// last, which for a topology manager's answer is the older, often empty,
// bucket).
package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Op names.
const (
	OpTS         = "TS"
	OpDefault    = "DEFAULT"
	OpMax        = "MAX"
	OpSum        = "SUM"
	OpSubtract   = "SUBTRACT"
	OpPercentile = "PERCENTILE"
	OpDivide     = "DIVIDE"
	OpMultiply   = "MULTIPLY"
	OpRate       = "RATE"
)

var ops = map[string]bool{OpTS: true, OpDefault: true, OpMax: true, OpSum: true, OpSubtract: true,
	OpPercentile: true, OpDivide: true, OpMultiply: true, OpRate: true}

// ErrSyntax wraps every parse error.
var ErrSyntax = errors.New("invalid query")

// Node is a parsed query: an operator with arguments, or a number.
type Node struct {
	// Op is the operator; empty for a number.
	Op string
	// Num is the number when Op is empty.
	Num float64
	// Args are the operator's arguments (for TS, see Strings).
	Args []*Node
	// Strings are TS's raw arguments: component, instance, metric.
	Strings []string
}

// IsConst reports whether the node is a number.
func (n *Node) IsConst() bool { return n != nil && n.Op == "" }

// String renders the node back as query text.
func (n *Node) String() string {
	if n == nil {
		return ""
	}
	if n.IsConst() {
		return strconv.FormatFloat(n.Num, 'g', -1, 64)
	}
	parts := n.Strings
	if n.Op != OpTS {
		parts = make([]string, len(n.Args))
		for i, a := range n.Args {
			parts[i] = a.String()
		}
	}
	return n.Op + "(" + strings.Join(parts, ", ") + ")"
}

func syntaxf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, a...))
}

// closingBrace returns the index of the ')' that closes the '(' at s[0].
func closingBrace(s string) (int, error) {
	if !strings.HasPrefix(s, "(") {
		return 0, syntaxf("Invalid syntax")
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, syntaxf("No closing braces found")
}

// subParts splits at commas outside parentheses; parts are trimmed.
func subParts(s string) ([]string, error) {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, syntaxf("Too many closing braces")
			}
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[last:i]))
				last = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, syntaxf("No closing braces found")
	}
	return append(parts, strings.TrimSpace(s[last:])), nil
}

// MaxLength bounds a query; the deepest Heron UI query is a few hundred bytes.
const MaxLength = 64 << 10

// Parse parses a query.
func Parse(q string) (*Node, error) {
	if len(q) > MaxLength {
		return nil, syntaxf("query longer than %d bytes", MaxLength)
	}
	n, err := parse(q, 0)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, syntaxf("empty query")
	}
	return n, nil
}

// parseFloat accepts what Python's float() does for plain decimal text.
func parseFloat(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan":
		return math.NaN(), true
	case "inf", "infinity":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, true // Python gives inf or 0 too
		}
		return 0, false
	}
	return v, true
}

func parse(q string, depth int) (*Node, error) {
	if depth > 100 {
		return nil, syntaxf("query nested too deeply")
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if q[0] == '(' {
		end, err := closingBrace(q)
		if err != nil {
			return nil, err
		}
		if end != len(q)-1 {
			return nil, syntaxf("Invalid syntax")
		}
		return parse(q[1:end], depth+1)
	}
	open := strings.IndexByte(q, '(')
	if open < 0 {
		v, ok := parseFloat(q)
		if !ok {
			return nil, syntaxf("Invalid syntax")
		}
		return &Node{Num: v}, nil
	}
	tok := strings.TrimRight(q[:open], " \t\r\n\v\f")
	if !ops[tok] {
		return nil, syntaxf("Invalid token: '%s'", tok)
	}
	end, err := closingBrace(q[open:])
	if err != nil {
		return nil, err
	}
	if open+end != len(q)-1 {
		return nil, syntaxf("Invalid syntax")
	}
	parts, err := subParts(q[open+1 : open+end])
	if err != nil {
		return nil, err
	}
	n := &Node{Op: tok}
	if tok == OpTS {
		if len(parts) != 3 {
			return nil, syntaxf("TS requires 3 arguments")
		}
		n.Strings = parts
		return n, nil
	}
	for _, p := range parts {
		a, err := parse(p, depth+1)
		if err != nil {
			return nil, err
		}
		n.Args = append(n.Args, a)
	}
	// Heron reads "SUM()" as one empty argument.
	if len(n.Args) == 1 && n.Args[0] == nil && len(parts) == 1 && parts[0] == "" {
		n.Args = nil
	}
	return n, n.check()
}

func (n *Node) check() error {
	for _, a := range n.Args {
		if a == nil {
			return syntaxf("%s has an empty argument", n.Op)
		}
	}
	switch n.Op {
	case OpDefault:
		if len(n.Args) != 2 {
			return syntaxf("DEFAULT requires 2 arguments")
		}
		if !n.Args[0].IsConst() {
			return syntaxf("First argument to DEFAULT must be a constant")
		}
		if n.Args[1].IsConst() {
			return syntaxf("Second argument to DEFAULT must be an operator")
		}
	case OpMax:
		if len(n.Args) < 1 {
			return syntaxf("MAX expects at least one operand.")
		}
	case OpPercentile:
		if len(n.Args) < 1 {
			return syntaxf("PERCENTILE expects at least two operands.")
		}
		if !n.Args[0].IsConst() {
			return syntaxf("First argument to PERCENTILE must be a constant")
		}
		if q := n.Args[0].Num; !(q >= 0 && q <= 100) {
			return syntaxf("Quantile must be between 0 and 100 inclusive.")
		}
	case OpDivide, OpMultiply, OpSubtract:
		if len(n.Args) != 2 {
			return syntaxf("%s requires exactly two arguments.", n.Op)
		}
	case OpRate:
		if len(n.Args) != 1 {
			return syntaxf("RATE requires exactly one argument.")
		}
		if n.Args[0].IsConst() {
			return syntaxf("RATE requires a timeseries, not constant.")
		}
	}
	return nil
}

// Point is one raw value of a fetched timeline.
type Point struct {
	Time  int64
	Value float64
}

// Fetcher returns the minutely timeline of one metric of a component over
// [start, end] (Unix seconds): instance id → points, newest first as the
// topology manager sends them. instances empty means all.
type Fetcher func(ctx context.Context, component, metric string, instances []string, start, end int64) (map[string][]Point, error)

// Series is one timeline of a result. Instance is nil for an aggregate.
type Series struct {
	Instance *string
	Data     map[int64]float64
}

func (s *Series) inst() string {
	if s.Instance == nil {
		return ""
	}
	return *s.Instance
}

func floorMinute(t int64) int64 {
	m := t % 60
	if m < 0 {
		m += 60
	}
	return t - m
}

// grid lists the minutes of [start, end].
func grid(start, end int64) []int64 {
	first := floorMinute(start)
	if first < start {
		first += 60
	}
	var g []int64
	for t := first; t <= floorMinute(end); t += 60 {
		g = append(g, t)
		if len(g) > maxGrid {
			break
		}
	}
	return g
}

// maxGrid bounds a grid (a week of minutes) so a wild range cannot eat memory.
const maxGrid = 7 * 24 * 60

// fill sets c at every grid minute that is missing or 0 (Heron's setDefault).
func (s *Series) fill(c float64, start, end int64) {
	for _, t := range grid(start, end) {
		if v, ok := s.Data[t]; !ok || v == 0 {
			s.Data[t] = c
		}
	}
}

// Eval runs a query over [start, end].
func Eval(ctx context.Context, n *Node, fetch Fetcher, start, end int64) ([]*Series, error) {
	if n.IsConst() {
		return nil, fmt.Errorf("a query must be an operator, not a constant")
	}
	if end-start > maxGrid*60 {
		return nil, fmt.Errorf("time range longer than %d minutes", maxGrid)
	}
	return eval(ctx, n, fetch, start, end)
}

func eval(ctx context.Context, n *Node, fetch Fetcher, start, end int64) ([]*Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch n.Op {
	case OpTS:
		return evalTS(ctx, n, fetch, start, end)
	case OpDefault:
		res, err := eval(ctx, n.Args[1], fetch, start, end)
		if err != nil {
			return nil, err
		}
		for _, s := range res {
			s.fill(n.Args[0].Num, start, end)
		}
		return res, nil
	case OpSum:
		out := &Series{Data: map[int64]float64{}}
		var c float64
		for _, a := range n.Args {
			if a.IsConst() {
				c += a.Num
			}
		}
		out.fill(c, start, end)
		all, err := evalOperands(ctx, n.Args, fetch, start, end)
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			for t, v := range s.Data {
				if _, ok := out.Data[t]; ok {
					out.Data[t] += v
				}
			}
		}
		return []*Series{out}, nil
	case OpMax:
		out := &Series{Data: map[int64]float64{}}
		consts := false
		c := math.Inf(-1)
		for _, a := range n.Args {
			if a.IsConst() {
				consts = true
				c = math.Max(c, a.Num)
			}
		}
		if consts {
			out.fill(c, start, end)
		}
		all, err := evalOperands(ctx, n.Args, fetch, start, end)
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			for t, v := range s.Data {
				if t < start || t > end {
					continue
				}
				if old, ok := out.Data[t]; !ok || v > old {
					out.Data[t] = v
				}
			}
		}
		return []*Series{out}, nil
	case OpPercentile:
		all, err := evalOperands(ctx, n.Args[1:], fetch, start, end)
		if err != nil {
			return nil, err
		}
		byMinute := map[int64][]float64{}
		for _, s := range all {
			for t, v := range s.Data {
				if t >= start && t <= end {
					byMinute[t] = append(byMinute[t], v)
				}
			}
		}
		out := &Series{Data: map[int64]float64{}}
		q := n.Args[0].Num
		for t, vs := range byMinute {
			sort.Float64s(vs)
			out.Data[t] = vs[int(q*float64(len(vs)-1)/100)]
		}
		return []*Series{out}, nil
	case OpDivide, OpMultiply, OpSubtract:
		return evalBinary(ctx, n, fetch, start, end)
	case OpRate:
		res, err := eval(ctx, n.Args[0], fetch, start-60, end)
		if err != nil {
			return nil, err
		}
		var out []*Series
		for _, s := range res {
			ts := make([]int64, 0, len(s.Data))
			for t := range s.Data {
				ts = append(ts, t)
			}
			sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
			r := &Series{Instance: s.Instance, Data: map[int64]float64{}}
			for i := 1; i < len(ts); i++ {
				prev, t := ts[i-1], ts[i]
				if t-prev == 60 && t >= start && t <= end {
					r.Data[t] = s.Data[t] - s.Data[prev]
				}
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown operator %q", n.Op)
}

// evalOperands evaluates the operator arguments (constants are skipped) and
// concatenates their series.
func evalOperands(ctx context.Context, args []*Node, fetch Fetcher, start, end int64) ([]*Series, error) {
	var all []*Series
	for _, a := range args {
		if a.IsConst() {
			continue
		}
		r, err := eval(ctx, a, fetch, start, end)
		if err != nil {
			return nil, err
		}
		all = append(all, r...)
	}
	return all, nil
}

func evalTS(ctx context.Context, n *Node, fetch Fetcher, start, end int64) ([]*Series, error) {
	comp, inst, metric := n.Strings[0], n.Strings[1], n.Strings[2]
	var insts []string
	if inst != "*" {
		insts = []string{inst}
	}
	tl, err := fetch(ctx, comp, metric, insts, start-60, end+60)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(tl))
	for id := range tl {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*Series, 0, len(ids))
	for _, id := range ids {
		s := &Series{Instance: &id, Data: map[int64]float64{}}
		for _, p := range tl[id] {
			if math.IsNaN(p.Value) {
				continue
			}
			t := floorMinute(p.Time)
			if t < start || t > end {
				continue
			}
			if _, seen := s.Data[t]; !seen { // newest first: keep the first
				s.Data[t] = p.Value
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// operand is one side of a binary operator: instance → series ("" for a
// univariate side).
func operand(ctx context.Context, n, parent *Node, fetch Fetcher, start, end int64) (map[string]*Series, error) {
	if n.IsConst() {
		s := &Series{Data: map[int64]float64{}}
		s.fill(n.Num, start, end)
		return map[string]*Series{"": s}, nil
	}
	res, err := eval(ctx, n, fetch, start, end)
	if err != nil {
		return nil, err
	}
	m := map[string]*Series{}
	switch {
	case len(res) == 0:
	case len(res) == 1 && res[0].inst() == "":
		m[""] = res[0]
	default:
		for _, s := range res {
			if s.inst() == "" {
				return nil, fmt.Errorf("%s with multivariate requires instance based timeseries", parent.Op)
			}
			m[s.inst()] = s
		}
	}
	return m, nil
}

func multivariate(m map[string]*Series) bool {
	if len(m) > 1 {
		return true
	}
	_, uni := m[""]
	return len(m) == 1 && !uni
}

func evalBinary(ctx context.Context, n *Node, fetch Fetcher, start, end int64) ([]*Series, error) {
	left, err := operand(ctx, n.Args[0], n, fetch, start, end)
	if err != nil {
		return nil, err
	}
	right, err := operand(ctx, n.Args[1], n, fetch, start, end)
	if err != nil {
		return nil, err
	}
	f := func(l float64, r float64) (float64, bool) {
		switch n.Op {
		case OpSubtract:
			return l - r, true
		case OpMultiply:
			return l * r, true
		}
		if r == 0 {
			return 0, false
		}
		return l / r, true
	}
	apply := func(l, r *Series, inst *string) *Series {
		out := &Series{Instance: inst, Data: map[int64]float64{}}
		for t, lv := range l.Data {
			if r == nil {
				continue
			}
			rv, ok := r.Data[t]
			if !ok {
				continue
			}
			if v, ok := f(lv, rv); ok {
				out.Data[t] = v
			}
		}
		return out
	}
	var out []*Series
	switch {
	case multivariate(left) && multivariate(right):
		for _, id := range sortedKeys(left) {
			if r, ok := right[id]; ok {
				out = append(out, apply(left[id], r, left[id].Instance))
			}
		}
	case !multivariate(left):
		l, ok := left[""]
		if !ok {
			return nil, nil
		}
		for _, id := range sortedKeys(right) {
			out = append(out, apply(l, right[id], right[id].Instance))
		}
	default: // left multivariate, right univariate
		r := right[""]
		for _, id := range sortedKeys(left) {
			out = append(out, apply(left[id], r, left[id].Instance))
		}
	}
	return out, nil
}

func sortedKeys(m map[string]*Series) []string {
	k := make([]string, 0, len(m))
	for id := range m {
		k = append(k, id)
	}
	sort.Strings(k)
	return k
}
