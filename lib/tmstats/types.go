package tmstats

import (
	"fmt"
	"sort"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
)

// Aggregation is how a metric's values combine inside a bucket.
type Aggregation int

// Heron's MetricAggregationType values.
const (
	Unknown Aggregation = iota
	Sum
	Avg
	Last
)

func (a Aggregation) String() string {
	switch a {
	case Sum:
		return "SUM"
	case Avg:
		return "AVG"
	case Last:
		return "LAST"
	}
	return "UNKNOWN"
}

// ParseAggregation reads SUM, AVG or LAST (Heron's topology manager accepts
// nothing else and refuses to start).
func ParseAggregation(s string) (Aggregation, error) {
	switch strings.TrimSpace(s) {
	case "SUM":
		return Sum, nil
	case "AVG":
		return Avg, nil
	case "LAST":
		return Last, nil
	}
	return Unknown, fmt.Errorf("unknown metrics type %q (use SUM, AVG or LAST)", s)
}

// Types maps metric-name prefixes to aggregations: the tmanager-sink's
// tmanager-metrics-type section.
type Types map[string]Aggregation

// Of returns the aggregation of a metric name: the first key, in sorted
// order, that is a prefix of it (Heron keeps the keys in a sorted map and
// tests them in turn), or Unknown.
func (t Types) Of(name string) Aggregation {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(name, k) {
			return t[k]
		}
	}
	return Unknown
}

// DefaultTypes is the whitelist Heron's shipped metrics_sinks.yaml gives the
// tmanager-sink.
func DefaultTypes() Types {
	return Types{
		"__emit-count":                                  Sum,
		"__execute-count":                               Sum,
		"__fail-count":                                  Sum,
		"__ack-count":                                   Sum,
		"__complete-latency":                            Avg,
		"__execute-latency":                             Avg,
		"__process-latency":                             Avg,
		"__jvm-uptime-secs":                             Last,
		"__jvm-process-cpu-load":                        Last,
		"__jvm-memory-used-mb":                          Last,
		"__jvm-memory-mb-total":                         Last,
		"__jvm-gc-collection-time-ms":                   Last,
		"__server/__time_spent_back_pressure_initiated": Sum,
		"__time_spent_back_pressure_by_compid":          Sum,
	}
}

// ParseTypes reads a tmanager-metrics-type map.
func ParseTypes(m map[string]string) (Types, error) {
	t := make(Types, len(m))
	for k, v := range m {
		a, err := ParseAggregation(v)
		if err != nil {
			return nil, fmt.Errorf("tmanager-metrics-type %s: %w", k, err)
		}
		t[k] = a
	}
	return t, nil
}

// TypesFromSinks reads tmanager-sink → tmanager-metrics-type from a
// metrics-sinks config, as Heron's topology manager does. A file without
// that section gives no types, so no metric is kept (as in Heron).
func TypesFromSinks(ms *config.MetricsSinks) (Types, error) {
	sec, err := ms.Section("tmanager-sink")
	if err != nil || sec == nil {
		return Types{}, err
	}
	m, err := sec.StringMap("tmanager-metrics-type")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ms.File, err)
	}
	t, err := ParseTypes(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ms.File, err)
	}
	return t, nil
}
