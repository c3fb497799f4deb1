package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
)

// Java object serialization (java.io.ObjectOutputStream), read far enough to
// show config values the way Heron's tracker does: strings, boxed primitives,
// lists and maps become JSON values; other objects become a map of their
// fields. Heron's Java API stores non-string topology config values this way.

const (
	tcNull          = 0x70
	tcReference     = 0x71
	tcClassDesc     = 0x72
	tcObject        = 0x73
	tcString        = 0x74
	tcArray         = 0x75
	tcClass         = 0x76
	tcBlockData     = 0x77
	tcEndBlockData  = 0x78
	tcReset         = 0x79
	tcBlockDataLong = 0x7A
	tcLongString    = 0x7C
	tcEnum          = 0x7E
	baseHandle      = 0x7E0000

	scWriteMethod    = 0x01
	scBlockData      = 0x08
	scSerializable   = 0x02
	scExternalizable = 0x04
)

var errJavaSer = errors.New("not a Java serialization stream")

type jfield struct {
	typ  byte
	name string
}

type jclass struct {
	name   string
	flags  byte
	fields []jfield
	super  *jclass
}

// jobject is a deserialized object of a class we do not model.
type jobject struct {
	class  *jclass
	fields map[string]any
	// annotations: objects written by a class's writeObject after its fields
	extra []any
}

type jreader struct {
	b       []byte
	p       int
	handles []any
	depth   int
}

// decodeJava parses one serialized object. The result is a string, bool,
// int64, float64, nil, []any, map[string]any or *jobject.
func decodeJava(b []byte) (v any, err error) {
	if len(b) < 4 || b[0] != 0xac || b[1] != 0xed {
		return nil, errJavaSer
	}
	r := &jreader{b: b, p: 4}
	defer func() {
		if e := recover(); e != nil {
			v, err = nil, fmt.Errorf("java serialization: %v", e)
		}
	}()
	return r.content(), nil
}

func (r *jreader) need(n int) []byte {
	if n < 0 || r.p+n > len(r.b) {
		panic("truncated stream")
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}
func (r *jreader) u8() byte    { return r.need(1)[0] }
func (r *jreader) u16() uint16 { return binary.BigEndian.Uint16(r.need(2)) }
func (r *jreader) u32() uint32 { return binary.BigEndian.Uint32(r.need(4)) }
func (r *jreader) u64() uint64 { return binary.BigEndian.Uint64(r.need(8)) }
func (r *jreader) utf() string { return modUTF8(r.need(int(r.u16()))) }

func (r *jreader) newHandle(v any) int {
	r.handles = append(r.handles, v)
	return len(r.handles) - 1
}

func (r *jreader) content() any {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 200 {
		panic("nesting too deep")
	}
	tc := r.u8()
	switch tc {
	case tcNull:
		return nil
	case tcReference:
		h := int(r.u32()) - baseHandle
		if h < 0 || h >= len(r.handles) {
			panic("bad reference")
		}
		return r.handles[h]
	case tcString:
		s := r.utf()
		r.newHandle(s)
		return s
	case tcLongString:
		n := r.u64()
		if n > uint64(len(r.b)) {
			panic("truncated stream")
		}
		s := modUTF8(r.need(int(n)))
		r.newHandle(s)
		return s
	case tcClassDesc:
		r.p--
		return r.classDesc()
	case tcClass:
		cd := r.classDesc()
		r.newHandle(cd)
		return cd.name
	case tcEnum:
		r.classDesc()
		h := r.newHandle(nil)
		name, _ := r.content().(string)
		r.handles[h] = name
		return name
	case tcArray:
		cd := r.classDesc()
		h := r.newHandle(nil)
		n := int(r.u32())
		if n < 0 || n > len(r.b) {
			panic("bad array size")
		}
		arr := make([]any, 0, n)
		elem := byte('L')
		if len(cd.name) > 1 {
			elem = cd.name[1]
		}
		for i := 0; i < n; i++ {
			arr = append(arr, r.value(elem))
		}
		r.handles[h] = arr
		return arr
	case tcObject:
		return r.object()
	case tcReset:
		r.handles = nil
		return r.content()
	case tcBlockData:
		r.need(int(r.u8()))
		return r.content()
	case tcBlockDataLong:
		r.need(int(r.u32()))
		return r.content()
	}
	panic(fmt.Sprintf("unsupported type code 0x%02x", tc))
}

func (r *jreader) classDesc() *jclass {
	tc := r.u8()
	switch tc {
	case tcNull:
		return nil
	case tcReference:
		h := int(r.u32()) - baseHandle
		if h < 0 || h >= len(r.handles) {
			panic("bad reference")
		}
		cd, ok := r.handles[h].(*jclass)
		if !ok {
			panic("reference is not a class")
		}
		return cd
	case tcClassDesc:
	default:
		panic(fmt.Sprintf("want a class description, got 0x%02x", tc))
	}
	cd := &jclass{name: r.utf()}
	r.need(8) // serialVersionUID
	r.newHandle(cd)
	cd.flags = r.u8()
	n := int(r.u16())
	for i := 0; i < n; i++ {
		f := jfield{typ: r.u8(), name: r.utf()}
		if f.typ == 'L' || f.typ == '[' {
			r.content() // the field's class name
		}
		cd.fields = append(cd.fields, f)
	}
	r.skipAnnotations()
	cd.super = r.classDesc()
	return cd
}

func (r *jreader) skipAnnotations() {
	for {
		if r.b[r.p] == tcEndBlockData {
			r.p++
			return
		}
		r.content()
	}
}

// annotations reads what a writeObject method wrote after its fields: block
// data bytes and objects, up to the end marker.
func (r *jreader) annotations() (block []byte, objs []any) {
	for {
		if r.p >= len(r.b) {
			panic("truncated stream")
		}
		switch r.b[r.p] {
		case tcEndBlockData:
			r.p++
			return block, objs
		case tcBlockData:
			r.p++
			block = append(block, r.need(int(r.u8()))...)
		case tcBlockDataLong:
			r.p++
			block = append(block, r.need(int(r.u32()))...)
		default:
			objs = append(objs, r.content())
		}
	}
}

func (r *jreader) value(t byte) any {
	switch t {
	case 'B':
		return int64(int8(r.u8()))
	case 'C':
		return string(rune(r.u16()))
	case 'D':
		return math.Float64frombits(r.u64())
	case 'F':
		return float64(math.Float32frombits(r.u32()))
	case 'I':
		return int64(int32(r.u32()))
	case 'J':
		return int64(r.u64())
	case 'S':
		return int64(int16(r.u16()))
	case 'Z':
		return r.u8() != 0
	case 'L', '[':
		return r.content()
	}
	panic(fmt.Sprintf("unknown field type %q", t))
}

func (r *jreader) object() any {
	cd := r.classDesc()
	if cd == nil {
		panic("object without class")
	}
	o := &jobject{class: cd, fields: map[string]any{}}
	h := r.newHandle(o)
	var chain []*jclass
	for c := cd; c != nil; c = c.super {
		chain = append([]*jclass{c}, chain...)
	}
	for _, c := range chain {
		if c.flags&scExternalizable != 0 {
			if c.flags&scBlockData == 0 {
				panic("old externalizable format")
			}
			_, objs := r.annotations()
			o.extra = append(o.extra, objs...)
			continue
		}
		for _, f := range c.fields {
			o.fields[f.name] = r.value(f.typ)
		}
		if c.flags&scWriteMethod != 0 {
			_, objs := r.annotations()
			o.extra = append(o.extra, objs...)
		}
	}
	v := simplify(o)
	r.handles[h] = v
	return v
}

// simplify turns well-known classes into plain values, as Python's javaobj
// (which Heron's tracker uses) does.
func simplify(o *jobject) any {
	switch o.class.name {
	case "java.lang.Integer", "java.lang.Long", "java.lang.Short", "java.lang.Byte",
		"java.lang.Double", "java.lang.Float", "java.lang.Boolean", "java.lang.Character":
		return o.fields["value"]
	case "java.util.ArrayList", "java.util.LinkedList", "java.util.Vector",
		"java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet",
		"java.util.Arrays$ArrayList", "java.util.Collections$UnmodifiableRandomAccessList":
		if a, ok := o.fields["a"].([]any); ok {
			return a
		}
		if d, ok := o.fields["elementData"].([]any); ok {
			return d
		}
		if o.extra == nil {
			return []any{}
		}
		return o.extra
	case "java.util.HashMap", "java.util.LinkedHashMap", "java.util.TreeMap", "java.util.Hashtable",
		"java.util.concurrent.ConcurrentHashMap":
		m := map[string]any{}
		for i := 0; i+1 < len(o.extra); i += 2 {
			m[fmt.Sprint(o.extra[i])] = o.extra[i+1]
		}
		return m
	}
	return o
}

// modUTF8 decodes Java's modified UTF-8.
func modUTF8(b []byte) string {
	var u []uint16
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			u = append(u, uint16(c))
			i++
		case c&0xE0 == 0xC0 && i+1 < len(b):
			u = append(u, uint16(c&0x1F)<<6|uint16(b[i+1]&0x3F))
			i += 2
		case c&0xF0 == 0xE0 && i+2 < len(b):
			u = append(u, uint16(c&0x0F)<<12|uint16(b[i+1]&0x3F)<<6|uint16(b[i+2]&0x3F))
			i += 3
		default:
			u = append(u, 0xFFFD)
			i++
		}
	}
	return string(utf16.Decode(u))
}
