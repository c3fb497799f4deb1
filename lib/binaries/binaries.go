// Package binaries lists every heron-* binary of the toolkit, so that the
// testscript runner can run them in-process and the man-page and completion
// generator can render their kong models. Each binary adds one line here.
package binaries

import (
	"sort"

	"github.com/heronkit/heronkit/cmd/heron-apiserver/apiservercmd"
	"github.com/heronkit/heronkit/cmd/heron-executor/executorcmd"
	"github.com/heronkit/heronkit/cmd/heron-sink-file/filesinkcmd"
	"github.com/heronkit/heronkit/cmd/heron-sink-graphite/graphitesinkcmd"
	"github.com/heronkit/heronkit/cmd/heron-sink-prometheus/prometheussinkcmd"
	"github.com/heronkit/heronkit/cmd/heron-sink-scribe/scribesinkcmd"
	"github.com/heronkit/heronkit/cmd/heron-statemgr/statemgrcmd"
	"github.com/heronkit/heronkit/cmd/heron-submit/submitcmd"
	"github.com/heronkit/heronkit/cmd/heron-tracker/trackercmd"
	"github.com/heronkit/heronkit/cmd/heron-ui/uicmd"
	"github.com/heronkit/heronkit/cmd/heron-upload/uploadcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

// Apps maps a binary's name to its command-line app.
var Apps = map[string]func() cli.App{
	"heron-apiserver":       apiservercmd.App,
	"heron-executor":        executorcmd.App,
	"heron-statemgr":        statemgrcmd.App,
	"heron-tracker":         trackercmd.App,
	"heron-ui":              uicmd.App,
	"heron-sink-file":       filesinkcmd.App,
	"heron-sink-graphite":   graphitesinkcmd.App,
	"heron-sink-prometheus": prometheussinkcmd.App,
	"heron-sink-scribe":     scribesinkcmd.App,
	"heron-submit":          submitcmd.App,
	"heron-upload":          uploadcmd.App,
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
