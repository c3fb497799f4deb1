package sink

import (
	"math"
	"strconv"
	"testing"
)

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		120: "120.0", 0.5: "0.5", 1e7: "1.0E7", 1.2345678e7: "1.2345678E7", 1e-4: "1.0E-4", 0.001: "0.001",
		9999999: "9999999.0", -3: "-3.0", 0: "0.0", 1e21: "1.0E21", 123456789012: "1.23456789012E11",
		math.Inf(1): "Infinity", math.NaN(): "NaN",
	} {
		if got := JavaDouble(f); got != want {
			t.Errorf("JavaDouble(%v) = %q, want %q", f, got, want)
		}
	}
	if JavaDouble(math.Copysign(0, -1)) != "-0.0" {
		t.Error("negative zero")
	}
}

func FuzzJavaDouble(f *testing.F) {
	for _, v := range []float64{0, 1, 1e7, 1e-3, 123.456, -5e-10} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		s := JavaDouble(v)
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || back != v {
			t.Fatalf("JavaDouble(%v) = %q reads back as %v, %v", v, s, back, err)
		}
	})
}
