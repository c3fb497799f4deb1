package prometheus

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The examples of Heron's PrometheusSink tests and docs.
func TestNamingWithoutRules(t *testing.T) {
	rules, err := ParseRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	for metric, want := range map[string]string{
		"__emit-count/default":            "heron_emit_count_default",
		"__execute-latency/word/default":  "heron_execute_latency_word_default",
		"__jvm-memory-used-mb":            "heron_jvm_memory_used_mb",
		"__metricsmgr__/metrics-received": "heron_metricsmgr_metrics_received",
		"file-sink/flush-count":           "heron_file_sink_flush_count",
		"__process/__uptime_sec":          "heron_process_uptime_sec",
		"___x":                            "heron__x", // "___" loses one pair, then "heron_" adds one
		"9lives":                          "heron__lives",
		"Mixed.Case":                      "heron_mixed_case",
	} {
		n, err := ruleName(metric, rules)
		if err != nil {
			t.Fatal(err)
		}
		if n.Name != want || len(n.Labels) != 0 {
			t.Errorf("%s -> %s %v, want %s", metric, n.Name, n.Labels, want)
		}
	}
}

func TestStreamManagerNaming(t *testing.T) {
	for metric, want := range map[string]Naming{
		"__connection_buffer_by_instanceid/container_1_word_5/packets": {Name: "heron_connection_buffer_by_instanceid_packets",
			Labels: []Label{{"metric_instance_id", "container_1_word_5"}}},
		"__time_spent_back_pressure_by_compid/container_1_exclaim1_1": {Name: "heron_time_spent_back_pressure_by_compid",
			Labels: []Label{{"metric_instance_id", "container_1_exclaim1_1"}}},
		"__client_stmgr-92/__ack_tuples_to_stmgrs": {Name: "heron_client_stmgr_ack_tuples_to_stmgrs",
			Labels: []Label{{"metric_instance_id", "stmgr-92"}}},
		"__instance_bytes_received/1":   {Name: "heron_instance_bytes_received", Labels: []Label{{"metric_instance_id", "1"}}},
		"__server/__tuples_from_stmgrs": {Name: "heron_server_tuples_from_stmgrs"},
		"__process/__uptime_sec":        {Name: "heron_process_uptime_sec"},
	} {
		if got := stmgrName(metric); !reflect.DeepEqual(got, want) {
			t.Errorf("%s -> %+v, want %+v", metric, got, want)
		}
	}
}

// The rules shipped in Heron's kubernetes metrics_sinks.yaml (trimmed),
// including a negative lookahead that Go's regexp lacks.
const kubernetesRules = `
rules:
  - pattern: __jvm-(.+)/(.+)
    name: jvm_$1_$2
    attrNameSnakeCase: true
    type: COUNTER
  - pattern: __(?!jvm-+)(.+-count|.+-latency|.+-count|.+-time-ns)/(.+)/(.+)
    name: $1
    attrNameSnakeCase: true
    type: COUNTER
    labels:
      dest_component: "$2"
      context: "$3"
  - pattern: __(?!jvm-+)(.+-count|.+-latency|.+-count|.+-time-ns)/(.+)
    name: $1
    attrNameSnakeCase: true
    type: COUNTER
    labels:
      context: "$2"
  - pattern: kafkaOffset/(.+)/partition_([0-9]+)/(.+)
    name: kafka_offset_partition_$3
    attrNameSnakeCase: true
    type: COUNTER
    help: Kafka offset lag
    labels:
      topic: "$1"
      partition: "$2"
`

func parseYAMLRules(t *testing.T, y string) []*Rule {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules(m["rules"])
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func TestShippedRules(t *testing.T) {
	rules := parseYAMLRules(t, kubernetesRules)
	for metric, want := range map[string]Naming{
		"__jvm-peak-usage/G1-Survivor-Space-committed": {Name: "heron_jvm_peak_usage_g1_survivor_space_committed"},
		"__emit-count/default":                         {Name: "heron_emit_count", Labels: []Label{{"context", "default"}}},
		// Both the 3-part and the 2-part rule match; the later one wins the
		// name and overrides context.
		"__execute-time-ns/pulsar-prod-4/default": {Name: "heron_execute_time_ns",
			Labels: []Label{{"context", "pulsar-prod-4/default"}, {"dest_component", "pulsar-prod-4"}}},
		"kafkaOffset/event_data/partition_10/spoutLag": {Name: "heron_kafka_offset_partition_spout_lag",
			Labels: []Label{{"partition", "10"}, {"topic", "event_data"}}, Help: "Kafka offset lag"},
		"myMetric": {Name: "heron_mymetric"},
	} {
		got, err := ruleName(metric, rules)
		if err != nil {
			t.Fatal(err)
		}
		sortLabels(got.Labels)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s -> %+v, want %+v", metric, got, want)
		}
	}
}

func sortLabels(ls []Label) {
	for i := range ls {
		for j := i + 1; j < len(ls); j++ {
			if ls[j].Name < ls[i].Name {
				ls[i], ls[j] = ls[j], ls[i]
			}
		}
	}
}

func TestRuleValidation(t *testing.T) {
	for y, want := range map[string]string{
		"rules: [{name: x}]":                    "must provide pattern",
		"rules: [{pattern: a, labels: {x: y}}]": "must provide name",
		"rules: [{pattern: a, help: h}]":        "must provide name",
		"rules: [{pattern: a, type: counter}]":  "type",
		"rules: [{pattern: '(a'}]":              "pattern",
		"rules: 5":                              "want a list",
	} {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(y), &m); err != nil {
			t.Fatal(err)
		}
		_, err := ParseRules(m["rules"])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", y, err, want)
		}
	}
}

func TestExpandJava(t *testing.T) {
	groups := []string{"all", "a", "b", "", "", "", "", "", "", "", "ten", "eleven"}
	for tmpl, want := range map[string]string{
		"x_$1_$2":  "x_a_b",
		"$10":      "ten",
		"$12":      "a2", // group 12 does not exist: $1 then "2"
		`\$1`:      "$1",
		"$1x":      "ax",
		"plain":    "plain",
		"end$":     "end$",
		"$11$2$99": "elevenb9", // $9 exists, $99 does not
	} {
		if got := expandJava(tmpl, groups); got != want {
			t.Errorf("expand(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

func TestSnakeAndSanitize(t *testing.T) {
	for in, want := range map[string]string{"spoutLag": "spout_lag", "G1_Survivor": "g1_survivor", "ABCd": "abcd", "aBC": "a_bc"} {
		if got := SnakeLower(in); got != want {
			t.Errorf("SnakeLower(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"a-b/c:d": "a_b_c_d", "1a": "_a", "é": "_", "\U0001F600x": "__x"} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRuleName(f *testing.F) {
	rules, err := ParseRules(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"__emit-count/default", "__client_stmgr-92/__ack", "kafkaOffset/t/partition_1/x", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, metric string) {
		for _, n := range []Naming{stmgrName(metric), must(ruleName(metric, rules))} {
			if !validName(n.Name) {
				t.Fatalf("%q -> invalid name %q", metric, n.Name)
			}
		}
	})
}

func must(n Naming, err error) Naming {
	if err != nil {
		panic(err)
	}
	return n
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
