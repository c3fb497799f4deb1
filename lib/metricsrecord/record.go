// Package metricsrecord defines the metrics record that heron-executor's
// metrics manager writes to every sink process, one JSON object per line on
// the sink's stdin. It mirrors Heron's MetricsRecord (the sink SPI type), so a
// sink can reproduce exactly what Heron's Java sinks write.
//
// A line looks like:
//
//	{"timestamp":1700000000123,"source":"host:6002/exclaim1/container_1_exclaim1_3",
//	 "context":"default","metrics":[{"name":"__emit-count/default","value":"42"}],
//	 "exceptions":[{"stack_trace":"java.lang.Exception: x","last_time":"...",
//	 "first_time":"...","count":2,"logging":""}],
//	 "topology":"WordCount","cluster":"local","role":"analytics","environ":"default",
//	 "metrics_mgr_id":"metricsmgr-1"}
//
// The last five fields are the sink context Heron hands a sink at init time;
// they are repeated on every record so that a sink needs no other input.
package metricsrecord

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Metric is one name/value pair. Values are strings, as in Heron.
type Metric struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Exception is one aggregated exception of an instance.
type Exception struct {
	StackTrace string `json:"stack_trace"`
	LastTime   string `json:"last_time"`
	FirstTime  string `json:"first_time"`
	Count      int    `json:"count"`
	Logging    string `json:"logging"`
}

// Record is one publication of metrics by one source.
type Record struct {
	// Timestamp is Unix milliseconds.
	Timestamp int64 `json:"timestamp"`
	// Source is "<host>:<port>/<component>/<instance id>".
	Source     string      `json:"source"`
	Context    string      `json:"context"`
	Metrics    []Metric    `json:"metrics"`
	Exceptions []Exception `json:"exceptions"`

	Topology     string `json:"topology,omitempty"`
	Cluster      string `json:"cluster,omitempty"`
	Role         string `json:"role,omitempty"`
	Environ      string `json:"environ,omitempty"`
	MetricsMgrID string `json:"metrics_mgr_id,omitempty"`
}

// SplitSource splits Source into host:port, component and instance id, as
// Heron's MetricsUtil.splitRecordSource does.
func (r *Record) SplitSource() (hostPort, component, instance string) {
	parts := strings.SplitN(r.Source, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return parts[0], parts[1], parts[2]
}

// Validate checks the fields a sink relies on.
func (r *Record) Validate() error {
	if r.Source == "" {
		return fmt.Errorf("record has no source")
	}
	if r.Timestamp <= 0 {
		return fmt.Errorf("record %q has no timestamp", r.Source)
	}
	return nil
}

// Writer writes records as JSON lines.
type Writer struct{ enc *json.Encoder }

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return &Writer{enc: e}
}

// Write writes one record as one line.
func (w *Writer) Write(r *Record) error { return w.enc.Encode(r) }

// Reader reads JSON-lines records, reporting malformed lines without stopping.
type Reader struct {
	br   *bufio.Reader
	line int
}

// MaxLineBytes bounds one input line; a longer line is skipped as malformed.
const MaxLineBytes = 16 << 20

// NewReader returns a Reader on r. Lines may be up to MaxLineBytes.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64*1024)}
}

// LineError is a malformed input line: the caller skips it and counts it.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Buffered reports whether input is already buffered, i.e. whether Next can
// return without waiting for the writer.
func (r *Reader) Buffered() bool { return r.br.Buffered() > 0 }

// readLine returns the next line without its newline. A line longer than
// MaxLineBytes is consumed and reported as too long.
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes+1 {
				tooLong, buf = true, nil
			} else if err == bufio.ErrBufferFull || buf != nil {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if buf == nil && !tooLong {
			buf = chunk
		}
		if err != nil && !(err == io.EOF && (len(buf) > 0 || tooLong)) {
			return nil, false, err
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, nil
	}
}

// Next returns the next record, a *LineError for a malformed line (reading can
// go on), or io.EOF at the end.
func (r *Reader) Next() (*Record, error) {
	for {
		b, tooLong, err := r.readLine()
		if err != nil {
			return nil, err
		}
		r.line++
		if tooLong {
			return nil, &LineError{Line: r.line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		rec := &Record{}
		if err := json.Unmarshal(b, rec); err != nil {
			return nil, &LineError{Line: r.line, Err: err}
		}
		if rec.Context == "" {
			rec.Context = "default"
		}
		if err := rec.Validate(); err != nil {
			return nil, &LineError{Line: r.line, Err: err}
		}
		return rec, nil
	}
}
