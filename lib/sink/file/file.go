// Package file is Heron's FileSink: each flush period's records go into one
// file as a JSON array, the files named <filename-output>.<metricsMgrId>.<i>
// with i rotating over file-maximum files, each left read-only.
package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/jsonstr"
	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
)

// The sink's keys (Heron's).
const (
	KeyFilenameOutput = "filename-output"
	KeyFileMaximum    = "file-maximum"
)

// DefaultID is the sink id of Heron's shipped file sink.
const DefaultID = "file-sink"

// partialSuffix marks the file being written; it is renamed over the final
// name at flush, so a reader never sees a half-written array.
const partialSuffix = ".partial"

// Sink writes records to rotating JSON files.
type Sink struct {
	output  string
	maximum int
	mmID    string
	log     zerolog.Logger

	index   int
	f       *os.File
	w       *bufio.Writer
	path    string // final name of the open file
	written int    // records in the open file
	buf     []byte
}

// New builds the sink from its config.
func New(cfg *sink.Config, sctx sink.Context, _ *sink.Counters, log zerolog.Logger) (sink.Sink, error) {
	out, err := cfg.RequiredString(KeyFilenameOutput)
	if err != nil {
		return nil, err
	}
	maximum, err := cfg.RequiredInt(KeyFileMaximum)
	if err != nil {
		return nil, err
	}
	if maximum <= 0 {
		return nil, fmt.Errorf("sink %s: %s must be at least 1, got %d", cfg.ID, KeyFileMaximum, maximum)
	}
	return &Sink{output: out, maximum: int(maximum), mmID: sctx.MetricsMgrID, log: log}, nil
}

// Prefix is Heron's file prefix: <filename-output>.<metricsMgrId>, or just
// <filename-output> when the metrics manager id is unknown.
func Prefix(output, mmID string) string {
	if mmID == "" {
		return output
	}
	return output + "." + mmID
}

// FileName is the name of the file of rotation index i.
func FileName(output, mmID string, i int) string {
	return Prefix(output, mmID) + "." + strconv.Itoa(i)
}

func (s *Sink) open() error {
	s.path = FileName(s.output, s.mmID, s.index)
	if dir := filepath.Dir(s.path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := s.path + partialSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if errors.Is(err, os.ErrPermission) {
		// A read-only leftover from a crash: make it writable again, as Heron does.
		_ = os.Chmod(tmp, 0o644)
		f, err = os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	}
	if err != nil {
		return fmt.Errorf("open metrics file: %w", err)
	}
	s.f, s.w, s.written = f, bufio.NewWriterSize(f, 64*1024), 0
	return s.w.WriteByte('[')
}

// Process appends the record to this period's file.
func (s *Sink) Process(rec *metricsrecord.Record) error {
	if s.f == nil {
		if rec.MetricsMgrID != "" {
			s.mmID = rec.MetricsMgrID
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	if s.written > 0 {
		s.buf = append(s.buf, ',')
	}
	s.buf = AppendRecord(s.buf, rec)
	s.written++
	_, err := s.w.Write(s.buf)
	return err
}

// Flush closes this period's array (an empty period gives []), publishes the
// file read-only under its final name and moves to the next index.
func (s *Sink) Flush() error {
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	tmp := s.f.Name()
	err := s.w.WriteByte(']')
	if err == nil {
		err = s.w.Flush()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f, s.w = nil, nil
	s.index = (s.index + 1) % s.maximum
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("publish %s: %w", s.path, err)
	}
	s.log.Debug().Str("file", s.path).Msg("metrics file written")
	return nil
}

// Close does nothing more: the runner's final flush wrote the last file.
func (s *Sink) Close(context.Context) error {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		return os.Remove(name)
	}
	return nil
}

// AppendRecord appends Heron's JSON object for one record: timestamp (ms),
// source, context, metrics as name → string value (a repeated name keeps its
// last value), and exceptions with Heron's camel-case keys.
func AppendRecord(b []byte, rec *metricsrecord.Record) []byte {
	b = append(b, `{"timestamp":`...)
	b = strconv.AppendInt(b, rec.Timestamp, 10)
	b = append(b, `,"source":`...)
	b = jsonstr.Append(b, rec.Source)
	b = append(b, `,"context":`...)
	b = jsonstr.Append(b, rec.Context)
	b = append(b, `,"metrics":{`...)
	first := true
	last := lastIndexes(rec.Metrics)
	for i, m := range rec.Metrics {
		if last != nil && last[m.Name] != i || last == nil && repeatedLater(rec.Metrics, i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonstr.Append(b, m.Name)
		b = append(b, ':')
		b = jsonstr.Append(b, m.Value)
	}
	b = append(b, `},"exceptions":[`...)
	for i, e := range rec.Exceptions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"stackTrace":`...)
		b = jsonstr.Append(b, e.StackTrace)
		b = append(b, `,"lastTime":`...)
		b = jsonstr.Append(b, e.LastTime)
		b = append(b, `,"firstTime":`...)
		b = jsonstr.Append(b, e.FirstTime)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
		b = append(b, `,"logging":`...)
		b = jsonstr.Append(b, e.Logging)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// Only the last of a repeated metric name is written, as Heron's map keeps
// it. Small records are scanned; large ones get an index of last positions.
const scanMax = 24

func lastIndexes(ms []metricsrecord.Metric) map[string]int {
	if len(ms) <= scanMax {
		return nil
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[m.Name] = i
	}
	return last
}

// repeatedLater reports whether metric i's name appears again later.
func repeatedLater(ms []metricsrecord.Metric, i int) bool {
	name := ms[i].Name
	for _, m := range ms[i+1:] {
		if m.Name == name {
			return true
		}
	}
	return false
}
