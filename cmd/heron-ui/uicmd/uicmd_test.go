package uicmd

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/heronkit/heronkit/lib/testserver"
)

// The Nomad job passes flags heron-ui has.
func TestNomadJobFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "conf", "ui", "heron-ui.nomad"))
	if err != nil {
		t.Fatal(err)
	}
	args := regexp.MustCompile(`"(--[a-z-]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(args) < 3 {
		t.Fatalf("no flags found in the Nomad job")
	}
	k, err := App().Parser(io.Discard, io.Discard, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range k.Model.Flags {
		known["--"+f.Name] = true
	}
	for _, a := range args {
		if !known[a[1]] {
			t.Errorf("heron-ui.nomad passes %s, which heron-ui does not have", a[1])
		}
	}
}

// The systemd unit's environment names the variables the flags read, and
// systemd-analyze accepts the unit.
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("..", "..", "..", "conf", "ui", "heron-ui.service")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"HERON_TRACKER_URL", "HERON_UI_BIND", "HERON_UI_PORT", "HERON_UI_BASE_URL", "Type=notify"} {
		if !strings.Contains(string(b), v) {
			t.Errorf("unit lacks %s", v)
		}
	}
	analyze := testserver.Require(t, "systemd-analyze")
	// verify needs ExecStart to exist: point it at this test binary.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "heron-ui.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/heron-ui", exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "heron-ui.service") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}
