package instance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/heronkit/heronkit/lib/jsonstr"
)

// The JSON-mode protocol (docs/json-protocol.md). A component writes one JSON
// value per line on stdout and reads one JSON object per line on stdin.

// Kind says what an output line of a JSON-mode component asks for.
type Kind int

const (
	KindEmit Kind = iota + 1
	KindAck
	KindFail
	KindLog
	KindMetric
	KindException
)

// Message is one parsed output line of a JSON-mode component.
type Message struct {
	Kind Kind
	// Emit: Values is the compact JSON array of the tuple's values.
	Values []byte
	Stream string
	// MsgID is the spout's message id as raw JSON (nil when absent).
	MsgID []byte
	// Anchors are the input tuple ids a bolt's emit is anchored to.
	Anchors []uint64
	// Task is set for a direct emit.
	Task    int32
	HasTask bool
	// Ack/Fail: the input tuple id.
	TupleID uint64
	// Log and Exception.
	Text  string
	Level string
	// Metric: name, value and aggregation (sum, avg or last).
	Metric    string
	Value     float64
	Aggregate string
}

type envelope struct {
	Emit      json.RawMessage   `json:"emit"`
	Stream    string            `json:"stream"`
	ID        json.RawMessage   `json:"id"`
	Anchors   []json.RawMessage `json:"anchors"`
	Task      *int32            `json:"task"`
	Ack       json.RawMessage   `json:"ack"`
	Fail      json.RawMessage   `json:"fail"`
	Log       *string           `json:"log"`
	Level     string            `json:"level"`
	Exception *string           `json:"exception"`
	Metric    string            `json:"metric"`
	Value     *float64          `json:"value"`
	Aggregate string            `json:"aggregate"`
}

// ErrEmpty is returned for a blank line, which components may write freely.
var ErrEmpty = errors.New("empty line")

// Parse reads one output line. Values alias line or scratch, which is
// reused for values that had to be rewritten.
func Parse(line []byte, scratch *bytes.Buffer) (Message, error) {
	var m Message
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return m, ErrEmpty
	}
	scratch.Reset()
	switch line[0] {
	case '[':
		if !json.Valid(line) {
			return m, fmt.Errorf("tuple values are not valid JSON")
		}
		m.Kind, m.Stream, m.Values = KindEmit, "default", line
		return m, nil
	case '{':
		// Fast path for the most common line, {"emit":[...]}: when the
		// array is valid JSON the object can hold nothing else.
		if v, ok := bytes.CutPrefix(line, []byte(`{"emit":[`)); ok && bytes.HasSuffix(v, []byte("]}")) {
			arr := line[len(`{"emit":`) : len(line)-1]
			if json.Valid(arr) {
				m.Kind, m.Stream, m.Values = KindEmit, "default", arr
				return m, nil
			}
		}
	default:
		// Any other JSON value is a one-field tuple.
		scratch.WriteByte('[')
		if err := json.Compact(scratch, line); err != nil {
			return m, fmt.Errorf("line is not valid JSON: %v", err)
		}
		scratch.WriteByte(']')
		m.Kind, m.Stream, m.Values = KindEmit, "default", scratch.Bytes()
		return m, nil
	}
	var e envelope
	if err := json.Unmarshal(line, &e); err != nil {
		return m, fmt.Errorf("line is not a valid JSON object: %v", err)
	}
	switch {
	case e.Emit != nil:
		m.Kind = KindEmit
		m.Stream = e.Stream
		if m.Stream == "" {
			m.Stream = "default"
		}
		v := bytes.TrimSpace(e.Emit)
		if len(v) > 0 && v[0] == '[' {
			_ = json.Compact(scratch, v)
		} else {
			scratch.WriteByte('[')
			_ = json.Compact(scratch, v)
			scratch.WriteByte(']')
		}
		m.Values = scratch.Bytes()
		if len(e.ID) > 0 && string(e.ID) != "null" {
			m.MsgID = append([]byte(nil), e.ID...)
		}
		for _, a := range e.Anchors {
			id, err := tupleID(a)
			if err != nil {
				return m, fmt.Errorf("anchor %s: %v", a, err)
			}
			m.Anchors = append(m.Anchors, id)
		}
		if e.Task != nil {
			m.Task, m.HasTask = *e.Task, true
		}
	case e.Ack != nil:
		id, err := tupleID(e.Ack)
		if err != nil {
			return m, fmt.Errorf("ack %s: %v", e.Ack, err)
		}
		m.Kind, m.TupleID = KindAck, id
	case e.Fail != nil:
		id, err := tupleID(e.Fail)
		if err != nil {
			return m, fmt.Errorf("fail %s: %v", e.Fail, err)
		}
		m.Kind, m.TupleID = KindFail, id
	case e.Exception != nil:
		m.Kind, m.Text = KindException, *e.Exception
		if e.Log != nil {
			m.Level = *e.Log
		}
	case e.Log != nil:
		m.Kind, m.Text, m.Level = KindLog, *e.Log, e.Level
		if m.Level == "" {
			m.Level = "info"
		}
	case e.Metric != "":
		if e.Value == nil {
			return m, fmt.Errorf("metric %q has no value", e.Metric)
		}
		m.Kind, m.Metric, m.Value, m.Aggregate = KindMetric, e.Metric, *e.Value, e.Aggregate
		switch m.Aggregate {
		case "":
			m.Aggregate = "sum"
		case "sum", "avg", "last":
		default:
			return m, fmt.Errorf("metric %q: aggregate %q (use sum, avg or last)", e.Metric, e.Aggregate)
		}
	default:
		return m, fmt.Errorf("object has none of emit, ack, fail, log, exception, metric")
	}
	return m, nil
}

// tupleID accepts the ids we hand out ("17") and their number form (17).
func tupleID(raw json.RawMessage) (uint64, error) {
	s := string(bytes.TrimSpace(raw))
	if len(s) >= 2 && s[0] == '"' {
		var err error
		if s, err = strconv.Unquote(s); err != nil {
			return 0, err
		}
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a tuple id we handed out")
	}
	return id, nil
}

// AppendTuple appends the stdin line that delivers one input tuple to a
// JSON-mode bolt. id 0 means the tuple is not tracked (no "id" key).
func AppendTuple(buf []byte, id uint64, component, stream string, task int32, values []byte) []byte {
	buf = append(buf, `{"type":"tuple"`...)
	if id != 0 {
		buf = append(buf, `,"id":"`...)
		buf = strconv.AppendUint(buf, id, 10)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"component":`...)
	buf = AppendString(buf, component)
	buf = append(buf, `,"stream":`...)
	buf = AppendString(buf, stream)
	buf = append(buf, `,"task":`...)
	buf = strconv.AppendInt(buf, int64(task), 10)
	buf = append(buf, `,"values":`...)
	buf = append(buf, values...)
	return append(buf, "}\n"...)
}

// AppendSpoutEvent appends an ack or fail line for a spout ("ack"/"fail")
// carrying the message id as the spout gave it.
func AppendSpoutEvent(buf []byte, typ string, msgID []byte) []byte {
	buf = append(buf, `{"type":"`...)
	buf = append(buf, typ...)
	buf = append(buf, `","id":`...)
	buf = append(buf, msgID...)
	return append(buf, "}\n"...)
}

// AppendControl appends a bare control line such as {"type":"deactivate"}.
func AppendControl(buf []byte, typ string) []byte {
	buf = append(buf, `{"type":"`...)
	buf = append(buf, typ...)
	return append(buf, "\"}\n"...)
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(buf []byte, s string) []byte { return jsonstr.Append(buf, s) }

// AppendStringBytes appends s as a JSON string without allocating.
func AppendStringBytes(buf []byte, s []byte) []byte { return jsonstr.AppendBytes(buf, s) }

// RawLine turns a tuple's JSON values into the line a raw-mode bolt reads:
// a single string value as it is (newlines become spaces), anything else
// as its compact JSON.
func RawLine(buf []byte, values []byte) []byte {
	var vals []json.RawMessage
	if json.Unmarshal(values, &vals) == nil && len(vals) == 1 {
		v := vals[0]
		if len(v) > 0 && v[0] == '"' {
			var s string
			if json.Unmarshal(v, &s) == nil {
				start := len(buf)
				buf = append(buf, s...)
				for i := start; i < len(buf); i++ {
					if buf[i] == '\n' || buf[i] == '\r' {
						buf[i] = ' '
					}
				}
				return append(buf, '\n')
			}
		}
		return append(append(buf, v...), '\n')
	}
	return append(append(buf, bytes.TrimSpace(values)...), '\n')
}

// FieldKeys appends to key the grouping key of a JSON tuple: the selected
// values, strings by their text and others by their compact JSON, separated
// by 0x1f. A raw line's key is the line itself, so the same word groups to
// the same task whichever mode produced it.
func FieldKeys(key []byte, values []byte, idx []int) ([]byte, error) {
	var vals []json.RawMessage
	if err := json.Unmarshal(values, &vals); err != nil {
		return key, err
	}
	for n, i := range idx {
		if n > 0 {
			key = append(key, 0x1f)
		}
		if i >= len(vals) {
			continue
		}
		v := vals[i]
		if len(v) > 0 && v[0] == '"' {
			var s string
			if json.Unmarshal(v, &s) == nil {
				key = append(key, s...)
				continue
			}
		}
		key = append(key, v...)
	}
	return key, nil
}
