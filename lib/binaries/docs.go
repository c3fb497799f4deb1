package binaries

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	mangokong "github.com/alecthomas/mango-kong"
	"github.com/muesli/roff"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// ManPage renders a binary's man page (section 1) from its kong model. The
// date mango writes into the .TH line is dropped so the output is reproducible.
func ManPage(name string) ([]byte, error) {
	app := Apps[name]()
	k, err := app.Parser(io.Discard, io.Discard, func(int) {})
	if err != nil {
		return nil, err
	}
	man := mangokong.NewManPage(1, k.Model)
	var tbl bytes.Buffer
	for _, e := range exitcode.Table {
		fmt.Fprintf(&tbl, "%d  %s\n", e.Code, e.Text)
	}
	man = man.WithSection("Exit status", tbl.String())
	out := man.Build(roff.NewDocument())
	return thLine.ReplaceAll([]byte(out), []byte(`.TH "$1" "$2" "" "heronkit" "$5"`)), nil
}

var thLine = regexp.MustCompile(`(?m)^\.TH "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$`)

// Completions returns the bash, zsh and fish completion scripts of a binary.
// The binary completes itself at run time from its kong model (COMP_LINE),
// so each script only hands the command line to it.
func Completions(name string) map[string][]byte {
	return map[string][]byte{
		"bash/" + name: fmt.Appendf(nil, "# bash completion for %[1]s\ncomplete -C %[1]s %[1]s\n", name),
		"zsh/_" + name: fmt.Appendf(nil, "#compdef %[1]s\n# zsh completion for %[1]s, through bash's protocol\nautoload -U +X bashcompinit && bashcompinit\ncomplete -C %[1]s %[1]s\n", name),
		"fish/" + name + ".fish": fmt.Appendf(nil, `# fish completion for %[1]s
function __complete_%[2]s
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    %[1]s
end
complete -f -c %[1]s -a "(__complete_%[2]s)"
`, name, regexp.MustCompile(`\W`).ReplaceAllString(name, "_")),
	}
}

// Generated maps repository-relative paths to the generated docs of every binary.
func Generated() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, n := range Names() {
		m, err := ManPage(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[filepath.Join("man", n+".1")] = m
		for p, b := range Completions(n) {
			out[filepath.Join("completions", p)] = b
		}
	}
	return out, nil
}

// WriteGenerated writes the generated docs under root.
func WriteGenerated(root string) error {
	gen, err := Generated()
	if err != nil {
		return err
	}
	for p, b := range gen {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
