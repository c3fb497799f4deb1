package executor

import "testing"

// FuzzDecode: the encoded values of a scheduler's command line never panic
// the decoders.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`"LVhYOitIZWFwRHVtcE9uT3V0T2ZNZW1vcnlFcnJvcg(61)(61)"`, `""`, "a:1,b:2", "e30(61)", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = DecodeJVMOpts(s)
		_, _ = DecodeComponentJVMOpts(s)
		_, _ = ParseRAMMap(s)
	})
}
