// Package cli is the command-line bootstrap every heron-* binary shares: one
// kong setup, the global flags (--log-level, --log-format, --version), zerolog
// on stderr, JSON on stdout, and the mapping of errors to the exit-code table
// in lib/exitcode.
//
// A command is a kong struct whose leaf commands have a method
//
//	Run(env *cli.Env) error
//
// and a binary's main package calls cli.Main with it.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
	"github.com/willabides/kongplete"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Version is the toolkit's version, set at link time with
// -ldflags "-X github.com/heronkit/heronkit/lib/cli.Version=...".
var Version = "0.1.0-dev"

// Globals are the flags every binary has. Embed it in a command struct.
type Globals struct {
	LogLevel  string           `name:"log-level" enum:"trace,debug,info,warn,error" default:"info" env:"HERON_LOG_LEVEL" help:"Log level on stderr: trace, debug, info, warn or error."`
	LogFormat string           `name:"log-format" enum:"auto,json,console" default:"auto" env:"HERON_LOG_FORMAT" help:"Log format on stderr: console on a terminal and json otherwise when auto."`
	Version   kong.VersionFlag `help:"Print the version and exit."`
}

// Env is what a command's Run method receives.
type Env struct {
	Ctx    context.Context
	Name   string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    zerolog.Logger
}

// JSON writes v as one compact JSON line on stdout.
func (e *Env) JSON(v any) error { return WriteJSON(e.Stdout, v) }

// WriteJSON writes v as one compact JSON line.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// App describes one binary.
type App struct {
	Name        string
	Description string
	// CLI is a pointer to the kong command struct; it must embed Globals.
	CLI     any
	Options []kong.Option
}

// Parser builds the kong parser for an app with the options all binaries share.
func (a App) Parser(stdout, stderr io.Writer, exit func(int)) (*kong.Kong, error) {
	opts := []kong.Option{
		kong.Name(a.Name),
		kong.Description(a.Description),
		kong.Vars{"version": a.Name + " " + Version},
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
		kong.Help(helpWithExitCodes),
	}
	return kong.New(a.CLI, append(opts, a.Options...)...)
}

// helpWithExitCodes prints kong's help followed by the exit-code table.
func helpWithExitCodes(options kong.HelpOptions, ctx *kong.Context) error {
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	w := ctx.Stdout
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status:")
	for _, e := range exitcode.Table {
		fmt.Fprintf(w, "  %3d  %s\n", e.Code, e.Text)
	}
	return nil
}

// Main runs the app with os.Args and the process's standard streams, and
// returns the exit status. It is all a main package needs.
func Main(a App) int {
	return Run(a, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

type exitSignal struct{ code int }

// setGlobalLogger hands the first command's logger to zerolog's global one,
// once per process (a binary runs one command).
var setGlobalLogger sync.Once

// Run parses args and runs the selected command. It never calls os.Exit.
func Run(a App, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(exitSignal); ok {
				code = e.code
				return
			}
			panic(r)
		}
	}()
	exit := func(c int) { panic(exitSignal{c}) }
	parser, err := a.Parser(stdout, stderr, exit)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", a.Name, err)
		return exitcode.Internal
	}
	// Shell completion: the binary completes itself when COMP_LINE is set.
	kongplete.Complete(parser, kongplete.WithExitFunc(exit))

	kctx, err := parser.Parse(args)
	if err != nil {
		// A file argument that does not exist: kong prints the raw stat
		// error, so say it plainly and point at the path instead of --help.
		var pathErr *fs.PathError
		if errors.Is(err, fs.ErrNotExist) && errors.As(err, &pathErr) {
			flag, _, _ := strings.Cut(err.Error(), ":")
			fmt.Fprintf(stderr, "%s: error: %s: %s does not exist\n", a.Name, flag, pathErr.Path)
			fmt.Fprintf(stderr, "%s: hint: check the path (a relative one starts from the current directory)\n", a.Name)
			return exitcode.Usage
		}
		fmt.Fprintf(stderr, "%s: error: %v\n", a.Name, err)
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(stderr, "%s: hint: run '%s --help' for usage\n", a.Name, a.Name)
		}
		return exitcode.Usage
	}
	g := findGlobals(a.CLI)
	log := NewLogger(stderr, g.LogLevel, g.LogFormat).With().Str("cmd", a.Name).Logger()
	// Libraries that log through zerolog's global logger (the ZooKeeper
	// client's debug lines) must honour --log-level and --log-format too.
	setGlobalLogger.Do(func() { zlog.Logger = log })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{Ctx: ctx, Name: a.Name, Stdin: stdin, Stdout: stdout, Stderr: stderr, Log: log}
	// Commands receive the Env and the whole CLI struct (for shared flags).
	if err := kctx.Run(env, a.CLI); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return exitcode.Interrupted
		}
		return ReportError(env, g.LogFormat, err)
	}
	return exitcode.OK
}

// ReportError prints err as one line on stderr (or one JSON object with
// --log-format=json) and returns its exit status.
func ReportError(env *Env, format string, err error) int {
	code := exitcode.Code(err)
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	hint := exitcode.Hint(err)
	// The final error stays a human-readable line unless JSON was asked for
	// explicitly: scripts parse stdout, people read the last stderr line.
	if format == "json" {
		rec := map[string]any{"level": "error", "message": msg, "exit_code": code, "cmd": env.Name}
		if hint != "" {
			rec["hint"] = hint
		}
		_ = WriteJSON(env.Stderr, rec)
		return code
	}
	fmt.Fprintf(env.Stderr, "%s: error: %s\n", env.Name, msg)
	if hint != "" {
		fmt.Fprintf(env.Stderr, "%s: hint: %s\n", env.Name, hint)
	}
	return code
}

// NewLogger builds the stderr logger: console output on a terminal, JSON
// otherwise, unless format says which.
func NewLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var out io.Writer = w
	if format == "console" || (format == "auto" && isTerminal(w)) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func findGlobals(v any) Globals {
	type hasGlobals interface{ GlobalFlags() Globals }
	if g, ok := v.(hasGlobals); ok {
		return g.GlobalFlags()
	}
	return Globals{LogLevel: "info", LogFormat: "auto"}
}

// GlobalFlags lets Run find the embedded Globals.
func (g Globals) GlobalFlags() Globals { return g }
