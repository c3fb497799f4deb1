package tracker

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// Object is a JSON object that keeps its keys in insertion order, so the
// tracker's answers list components and instances in the order of the
// physical plan, as Heron's do.
type Object struct {
	keys []string
	vals []any
}

// Set appends a key (or replaces the value of an existing one).
func (o *Object) Set(k string, v any) *Object {
	for i, kk := range o.keys {
		if kk == k {
			o.vals[i] = v
			return o
		}
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
	return o
}

// Get returns a key's value.
func (o *Object) Get(k string) (any, bool) {
	for i, kk := range o.keys {
		if kk == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// Keys lists the keys in order.
func (o *Object) Keys() []string { return o.keys }

// Len is the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// MarshalJSON writes the keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Float is a number written as Python writes a float: always with a
// fraction or exponent (1.0, not 1), so clients see the type Heron sends.
type Float float64

// MarshalJSON formats like Python's repr(float).
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e16 {
		return []byte(strconv.FormatFloat(v, 'f', -1, 64) + ".0"), nil
	}
	a := math.Abs(v)
	if a >= 1e-4 && a < 1e16 {
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	}
	s := strconv.FormatFloat(v, 'e', -1, 64) // 1e-05 style, as Python
	return []byte(s), nil
}

// marshal is json.Marshal without HTML escaping (Python's json does not
// escape <, > and &).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Marshal renders v as compact JSON the way the tracker serves it.
func Marshal(v any) ([]byte, error) { return marshal(v) }
