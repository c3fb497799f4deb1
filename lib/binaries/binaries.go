// Package binaries lists every heron-* binary of the toolkit, so that the
// testscript runner can run them in-process and the man-page and completion
// generator can render their kong models. Each binary adds one line here.
package binaries

import (
	"sort"

	"github.com/heronkit/heronkit/cmd/heron-statemgr/statemgrcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

// Apps maps a binary's name to its command-line app.
var Apps = map[string]func() cli.App{
	"heron-statemgr": statemgrcmd.App,
}

// Names lists the binaries, sorted.
func Names() []string {
	n := make([]string, 0, len(Apps))
	for k := range Apps {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
