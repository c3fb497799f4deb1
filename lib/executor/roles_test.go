package executor_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heronkit/heronkit/cmd/heron-executor/executorcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

// The test binary doubles as heron-executor and as the components of the
// test topologies, selected by HERON_TEST_ROLE, so the tests need nothing
// but the shell tools every system has.
func runRole(role string) int {
	switch role {
	case "executor":
		return cli.Main(executorcmd.App())
	case "gen":
		return gen()
	case "sink":
		return sink()
	case "ticker":
		return ticker()
	case "flood":
		return flood()
	case "json-spout":
		return jsonSpout()
	case "json-failonce":
		return jsonFailOnce()
	case "json-sink":
		return jsonSink()
	case "gen-json":
		return genJSON()
	case "relay-json":
		return relayJSON()
	case "sink-json":
		return sinkJSON()
	}
	fmt.Fprintln(os.Stderr, "unknown HERON_TEST_ROLE", role)
	return 2
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

// gen waits for $OUT_DIR/go, then writes BENCH_N 20-byte tuples: the send
// time in 19 digits of Unix nanoseconds and one letter.
func gen() int {
	n := envInt("BENCH_N", 1000)
	waitGo()
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	var line [21]byte
	line[19], line[20] = 'x', '\n'
	for i := 0; i < n; i++ {
		stamp(line[:])
		if _, err := w.Write(line[:]); err != nil {
			return 1
		}
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	// A spout that exits 0 has finished; a shell pipeline sees EOF.
	return 0
}

// waitGo waits for $OUT_DIR/go, so that a benchmark's clock starts when
// every container is ready.
func waitGo() {
	if d := os.Getenv("OUT_DIR"); d != "" {
		for {
			if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func stamp(line []byte) {
	ts := time.Now().UnixNano()
	for j := 18; j >= 0; j-- {
		line[j] = byte('0' + ts%10)
		ts /= 10
	}
}

// genJSON is gen in JSON mode: ["<19 digits>x"] per line.
func genJSON() int {
	n := envInt("BENCH_N", 1000)
	waitGo()
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	line := []byte(`["0000000000000000000x"]` + "\n")
	for i := 0; i < n; i++ {
		stamp(line[2:])
		if _, err := w.Write(line); err != nil {
			return 1
		}
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}

// jsonValues finds the values of a JSON-mode line: a tuple delivered by the
// executor ({"values":[...]}), an emit envelope, or a bare array.
func jsonValues(line []byte) []byte {
	if i := bytes.Index(line, []byte(`"values":`)); i >= 0 {
		v := line[i+9:]
		if j := bytes.IndexByte(v, ']'); j >= 0 {
			return v[:j+1]
		}
	}
	if i := bytes.Index(line, []byte(`"emit":`)); i >= 0 {
		v := line[i+7:]
		if j := bytes.IndexByte(v, ']'); j >= 0 {
			return v[:j+1]
		}
	}
	return bytes.TrimSpace(line)
}

// relayJSON re-emits the values of every tuple it reads.
func relayJSON() int {
	r := bufio.NewReaderSize(os.Stdin, 256<<10)
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 1 {
			w.WriteString(`{"emit":`)
			w.Write(jsonValues(line))
			w.WriteString("}\n")
		}
		if r.Buffered() == 0 || err != nil {
			if w.Flush() != nil {
				return 1
			}
		}
		if err != nil {
			return 0
		}
	}
}

// sinkJSON is sink for JSON-mode tuples.
func sinkJSON() int {
	return sinkWith(func(line []byte) []byte { return bytes.TrimLeft(jsonValues(line), `["`) })
}

// sink reads tuples made by gen, and once it has BENCH_N of them (or EOF)
// writes {"count","first","done","p50","p99"} to $OUT_DIR/result.<task>.
func sink() int { return sinkWith(func(line []byte) []byte { return line }) }

func sinkWith(field func([]byte) []byte) int {
	n := envInt("BENCH_N", 1000)
	r := bufio.NewReaderSize(os.Stdin, 256<<10)
	lat := make([]int64, 0, 1<<16)
	var count int
	var first int64
	step := n/65536 + 1
	write := func() {
		done := time.Now().UnixNano()
		slices.Sort(lat)
		q := func(p float64) int64 {
			if len(lat) == 0 {
				return 0
			}
			return lat[int(float64(len(lat)-1)*p)]
		}
		b, _ := json.Marshal(map[string]int64{"count": int64(count), "first": first, "done": done, "p50": q(0.5), "p99": q(0.99)})
		name := "result." + os.Getenv("HERON_TASK_ID")
		_ = os.WriteFile(filepath.Join(os.Getenv("OUT_DIR"), name+".tmp"), b, 0o644)
		_ = os.Rename(filepath.Join(os.Getenv("OUT_DIR"), name+".tmp"), filepath.Join(os.Getenv("OUT_DIR"), name))
	}
	for {
		line, err := r.ReadSlice('\n')
		if f := field(line); len(f) >= 19 {
			ts := parseTS(f[:19])
			if count == 0 {
				first = ts
			}
			count++
			if count%step == 0 {
				lat = append(lat, time.Now().UnixNano()-ts)
			}
			if count == n {
				write()
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if count < n {
				write()
			}
			if err == io.EOF {
				return 0
			}
			return 1
		}
	}
}

func parseTS(b []byte) int64 {
	var v int64
	for _, c := range b {
		v = v*10 + int64(c-'0')
	}
	return v
}

// ticker emits an increasing number every 2 ms, forever.
func ticker() int {
	for i := 1; ; i++ {
		if _, err := fmt.Printf("%s-%d\n", os.Getenv("HERON_TASK_ID"), i); err != nil {
			return 1
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// flood writes lines as fast as it can, forever.
func flood() int {
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	line := []byte(strings.Repeat("f", 99) + "\n")
	for {
		if _, err := w.Write(line); err != nil {
			return 1
		}
	}
}

// jsonSpout emits BENCH_N tuples {"emit":["v-<i>"],"id":<i>} in JSON mode,
// replays failed ones, and writes acked/failed counts to $OUT_DIR/spout.<task>.
func jsonSpout() int {
	n := envInt("BENCH_N", 100)
	out := bufio.NewWriter(os.Stdout)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(out, "{\"emit\":[\"v-%d\"],\"id\":%d}\n", i, i)
	}
	out.Flush()
	acked, failed := map[int]bool{}, 0
	in := bufio.NewScanner(os.Stdin)
	report := func() {
		b, _ := json.Marshal(map[string]int{"acked": len(acked), "failed": failed})
		p := filepath.Join(os.Getenv("OUT_DIR"), "spout."+os.Getenv("HERON_TASK_ID"))
		_ = os.WriteFile(p+".tmp", b, 0o644)
		_ = os.Rename(p+".tmp", p)
	}
	for in.Scan() {
		var m struct {
			Type string `json:"type"`
			ID   int    `json:"id"`
		}
		if json.Unmarshal(in.Bytes(), &m) != nil {
			continue
		}
		switch m.Type {
		case "ack":
			acked[m.ID] = true
		case "fail":
			failed++
			fmt.Fprintf(out, "{\"emit\":[\"v-%d\"],\"id\":%d}\n", m.ID, m.ID)
			out.Flush()
		}
		report()
	}
	return 0
}

type tupleIn struct {
	Type   string            `json:"type"`
	ID     string            `json:"id"`
	Values []json.RawMessage `json:"values"`
}

// jsonFailOnce passes tuples on, anchored, except that it fails the first
// tuple whose value is FAIL_VALUE.
func jsonFailOnce() int {
	failed := false
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var t tupleIn
		if json.Unmarshal(in.Bytes(), &t) != nil || t.Type != "tuple" {
			continue
		}
		var v string
		_ = json.Unmarshal(t.Values[0], &v)
		if v == os.Getenv("FAIL_VALUE") && !failed {
			failed = true
			fmt.Fprintf(out, "{\"log\":\"failing %s\"}\n{\"fail\":%q}\n", v, t.ID)
		} else {
			fmt.Fprintf(out, "{\"emit\":[%q],\"anchors\":[%q]}\n{\"ack\":%q}\n", v, t.ID, t.ID)
		}
		out.Flush()
	}
	return 0
}

// jsonSink appends every value to $OUT_DIR/json.<task> and acks it.
func jsonSink() int {
	f, err := os.OpenFile(filepath.Join(os.Getenv("OUT_DIR"), "json."+os.Getenv("HERON_TASK_ID")), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 1
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var t tupleIn
		if json.Unmarshal(in.Bytes(), &t) != nil || t.Type != "tuple" {
			continue
		}
		var v string
		_ = json.Unmarshal(t.Values[0], &v)
		fmt.Fprintln(f, v)
		fmt.Fprintf(out, "{\"ack\":%q}\n{\"metric\":\"sunk\",\"value\":1}\n", t.ID)
		out.Flush()
	}
	return 0
}
