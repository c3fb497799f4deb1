package packing

import (
	"slices"
	"unicode/utf16"
)

// javaStringHash is java.lang.String.hashCode: s[0]*31^(n-1) + ... over
// UTF-16 code units, in 32-bit two's complement.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaHashOrder returns keys (given in insertion order, no duplicates) in
// the order a java.util.HashMap<String,?> with default settings iterates
// them: by bucket index of the spread hash in the final table, and within a
// bucket by insertion order (resizes keep the relative order of a chain).
//
// The table starts at 16 buckets and doubles when the entry count passes
// 0.75 × capacity, or when one chain reaches 9 entries while the table has
// fewer than 64 buckets (HashMap treeifies longer chains only from 64 on;
// tree bins keep insertion order for keys added before treeification, which
// is all a topology's handful of components ever reach).
func javaHashOrder(keys []string) []string {
	spread := func(k string) uint32 {
		h := uint32(javaStringHash(k))
		return h ^ (h >> 16)
	}
	capacity := uint32(16)
	chains := func(n int) map[uint32]int {
		m := map[uint32]int{}
		for _, k := range keys[:n] {
			m[spread(k)&(capacity-1)]++
		}
		return m
	}
	for n := 1; n <= len(keys); n++ {
		// size check after insertion
		for uint32(n) > capacity*3/4 {
			capacity *= 2
		}
		for capacity < 64 {
			if chains(n)[spread(keys[n-1])&(capacity-1)] >= 9 {
				capacity *= 2
				continue
			}
			break
		}
	}
	type entry struct {
		key    string
		bucket uint32
		order  int
	}
	es := make([]entry, len(keys))
	for i, k := range keys {
		es[i] = entry{k, spread(k) & (capacity - 1), i}
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		if a.bucket != b.bucket {
			if a.bucket < b.bucket {
				return -1
			}
			return 1
		}
		return a.order - b.order
	})
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.key
	}
	return out
}
