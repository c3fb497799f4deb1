// Package filesinkcmd is heron-sink-file's command line.
package filesinkcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/file"
)

// App is the heron-sink-file binary.
func App() cli.App {
	return cli.App{
		Name: "heron-sink-file",
		Description: "Write metrics records (JSON lines on stdin) to rotating JSON files, as Heron's FileSink: " +
			"each flush period's records form one JSON array in <filename-output>.<metrics-mgr-id>.<n>, n rotating over file-maximum files.",
		CLI: &CLI{},
	}
}

// CLI is the command line.
type CLI struct {
	cli.Globals
	sink.Flags

	FilenameOutput *string `name:"filename-output" placeholder:"PATH" help:"File name prefix (filename-output), e.g. metrics.json."`
	FileMaximum    *int64  `name:"file-maximum" placeholder:"N" help:"Number of files to rotate over (file-maximum)."`
}

// Run runs the sink until stdin ends or a signal arrives.
func (c *CLI) Run(env *cli.Env) error {
	return c.RunSink(env, file.DefaultID, file.New,
		sink.Opt(file.KeyFilenameOutput, c.FilenameOutput),
		sink.Opt(file.KeyFileMaximum, c.FileMaximum))
}
